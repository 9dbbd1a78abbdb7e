package greet

import "testing"

func TestMessage(t *testing.T) {
	if got := Message("Hello", ""); got != "Hello, world!" {
		t.Fatalf("got %q", got)
	}
	if got := Message("Hi", "a very long name that goes on and on"); got != "Hi, a very long name th…!" {
		t.Fatalf("got %q", got)
	}
}

func TestJobID(t *testing.T) {
	if got := JobID(7, "Resize Images"); got != "0007-resize-images" {
		t.Fatalf("got %q", got)
	}
}
