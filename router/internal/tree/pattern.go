package tree

import (
	"fmt"
	"strings"
)

// PatternError reports a pattern that does not follow the grammar described
// in the package documentation. Add and ParamNames return it as a
// *PatternError.
type PatternError struct {
	Pattern string // the pattern as given
	Reason  string // what is wrong, naming the offending part
}

// Error implements error.
func (e *PatternError) Error() string {
	return fmt.Sprintf("tree: invalid pattern %q: %s", e.Pattern, e.Reason)
}

// ConflictError reports a pattern that cannot live beside one already in the
// tree. Add returns it as a *ConflictError; the tree is unchanged.
type ConflictError struct {
	Pattern  string // the pattern being added
	Existing string // the registered pattern it conflicts with
	Reason   string // why the two cannot both be registered
}

// Error implements error.
func (e *ConflictError) Error() string {
	return fmt.Sprintf("tree: pattern %q conflicts with existing pattern %q: %s",
		e.Pattern, e.Existing, e.Reason)
}

// kind is what a node, or a piece of a pattern, matches.
type kind uint8

const (
	kindStatic   kind = iota // bytes matched as they are
	kindParam                // ":name": one whole non-empty segment
	kindCatchAll             // "*name": the rest of the path, possibly empty
)

// String names k in error messages.
func (k kind) String() string {
	switch k {
	case kindParam:
		return "parameter"
	case kindCatchAll:
		return "catch-all"
	}
	return "static segment"
}

// token is one piece of a parsed pattern: a run of static bytes, or one
// parameter or catch-all.
type token struct {
	kind  kind
	text  string // the static bytes, or the wildcard's name without ':' or '*'
	start int    // offset of the piece in the pattern
}

// sigil returns the wildcard as written in a pattern, e.g. ":id".
func (tok token) sigil() string {
	if tok.kind == kindCatchAll {
		return "*" + tok.text
	}
	return ":" + tok.text
}

// parse splits pattern into tokens and checks the grammar. Static tokens
// always begin with '/' (a wildcard always follows a '/'), and a wildcard
// token is followed by a static token or ends the pattern.
func parse(pattern string) ([]token, error) {
	bad := func(format string, args ...any) error {
		return &PatternError{Pattern: pattern, Reason: fmt.Sprintf(format, args...)}
	}
	if pattern == "" || pattern[0] != '/' {
		return nil, bad("a pattern must begin with '/'")
	}
	var toks []token
	static := 0 // start of the static run not yet emitted
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != ':' && c != '*' {
			continue
		}
		what, example := "parameter", ":id"
		if c == '*' {
			what, example = "catch-all", "*path"
		}
		if pattern[i-1] != '/' { // i > 0: pattern[0] is '/'
			return nil, bad("%q at offset %d is inside a segment; a %s must fill its whole segment",
				c, i, what)
		}
		end := i + 1
		for end < len(pattern) && pattern[end] != '/' {
			end++
		}
		name := pattern[i+1 : end]
		if name == "" {
			return nil, bad("%s at offset %d has no name (write it like %s)", what, i, example)
		}
		if strings.IndexFunc(name, notNameRune) >= 0 {
			return nil, bad("%s %q: a name holds only letters, digits and '_', and a %s must fill its whole segment",
				what, pattern[i:end], what)
		}
		if c == '*' && end != len(pattern) {
			return nil, bad("catch-all %q must be the last segment", pattern[i:end])
		}
		for _, t := range toks {
			if t.kind != kindStatic && t.text == name {
				return nil, bad("name %q is used twice (%s and %s)", name, t.sigil(), pattern[i:end])
			}
		}
		toks = append(toks, token{kind: kindStatic, text: pattern[static:i], start: static})
		k := kindParam
		if c == '*' {
			k = kindCatchAll
		}
		toks = append(toks, token{kind: k, text: name, start: i})
		static = end
		i = end - 1
	}
	if static < len(pattern) {
		toks = append(toks, token{kind: kindStatic, text: pattern[static:], start: static})
	}
	return toks, nil
}

// notNameRune reports whether r may not appear in a parameter or catch-all
// name. Names are ASCII letters, digits and '_'.
func notNameRune(r rune) bool {
	return !('a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9' || r == '_')
}

// ParamNames returns the names of pattern's parameters and catch-all, without
// ':' or '*', in the order they appear: the order in which Lookup appends
// their values. A pattern without wildcards gives a nil slice. An invalid
// pattern gives a *PatternError.
func ParamNames(pattern string) ([]string, error) {
	toks, err := parse(pattern)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, t := range toks {
		if t.kind != kindStatic {
			names = append(names, t.text)
		}
	}
	return names, nil
}
