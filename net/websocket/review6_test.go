package websocket

import (
	"bytes"
	"testing"

	"github.com/weftgo/weft/net/websocket/internal/frame"
)

// TestReview6TextEndErrorAfterOffloadedMessage (11c450a): a bad frame now
// waits behind messages being decompressed off the loop
// (failInOrderOnLoop), so that what is delivered does not depend on how the
// bytes were split into reads. One error path was left out: a text message
// whose last bytes are an incomplete UTF-8 sequence passes st.Text piece by
// piece and fails only at st.End, in messageOnLoop, which still calls
// failOnLoop at once (inbound.go:51-53). When it arrives in the same read as
// an earlier compressed message still decompressing off the loop, that
// message is dropped; read separately, it is delivered first.
func TestReview6TextEndErrorAfterOffloadedMessage(t *testing.T) {
	msg := bytes.Repeat([]byte("a"), 64<<10)
	m1 := clientRSV(true, true, frame.OpBinary, deflateMessage(t, msg))
	bad := clientRSV(true, false, frame.OpText, []byte("abc\xe2\x82")) // cut inside a character: 1007 at its end
	for _, oneRead := range []bool{false, true} {
		h := newHarness(t, &Upgrader{PingInterval: -1}, deflateParams{enabled: true, windowBits: 15}, nil)
		if oneRead {
			h.feed(cat(m1, bad))
		} else {
			h.feed(m1)
			h.settleFuzz()
			h.feed(bad)
		}
		h.settleFuzz()
		if code := h.closeCode(); code != 1007 {
			t.Fatalf("one read %v: close code %d, want 1007", oneRead, code)
		}
		h.loop.Do(func() {
			if len(h.messages) != 1 || len(h.messages[0].data) != len(msg) {
				t.Errorf("one read %v: %d messages delivered; want the %d-byte message received before the bad one", oneRead, len(h.messages), len(msg))
			}
		})
	}
}
