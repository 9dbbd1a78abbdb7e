package strutil_test

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"example.com/platform/strutil"
)

// TestSlugGolden reads "input|want" lines from testdata/slugs.txt.
func TestSlugGolden(t *testing.T) {
	f, err := os.Open("testdata/slugs.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	scanner := bufio.NewScanner(f)
	cases := 0
	for scanner.Scan() {
		line := scanner.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		input, want, ok := strings.Cut(line, "|")
		if !ok {
			t.Fatalf("bad line %q", line)
		}
		if got := strutil.Slug(input); got != want {
			t.Errorf("Slug(%q) = %q, want %q", input, got, want)
		}
		cases++
	}
	if cases == 0 {
		t.Fatal("no cases in testdata/slugs.txt")
	}
}

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"hello", 10, "hello"},
		{"hello", 3, "he…"},
		{"hello", 0, ""},
	} {
		if got := strutil.Truncate(tc.in, tc.n); got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
