package offload

import (
	"encoding"
	"encoding/json"
)

// A Codec turns a job's input or output into bytes and back, for jobs that
// cross a process boundary (Call with Config.Remote). Implementations must
// be safe for concurrent use. Protocol Buffers or any other format plugs in
// here.
type Codec interface {
	// Marshal encodes v.
	Marshal(v any) ([]byte, error)
	// Unmarshal decodes data into v, a non-nil pointer.
	Unmarshal(data []byte, v any) error
}

// JSONCodec is the default Codec: a value that implements
// encoding.BinaryMarshaler (a pointer to one that implements
// encoding.BinaryUnmarshaler, to decode) is encoded by its own methods;
// anything else with encoding/json. Safe for concurrent use.
type JSONCodec struct{}

// Marshal encodes v with v.MarshalBinary if it has one, with json.Marshal
// otherwise.
func (JSONCodec) Marshal(v any) ([]byte, error) {
	if m, ok := v.(encoding.BinaryMarshaler); ok {
		return m.MarshalBinary()
	}
	return json.Marshal(v)
}

// Unmarshal decodes data with v.UnmarshalBinary if v has one, with
// json.Unmarshal otherwise.
func (JSONCodec) Unmarshal(data []byte, v any) error {
	if u, ok := v.(encoding.BinaryUnmarshaler); ok {
		return u.UnmarshalBinary(data)
	}
	return json.Unmarshal(data, v)
}
