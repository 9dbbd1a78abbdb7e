// Command cli prints the slug of its arguments, or its version with -version.
package main

import (
	"fmt"
	"os"
	"strings"

	"example.com/platform/strutil"
)

// Version is stamped at build time: -ldflags "-X main.Version=v1.2.3".
var Version = "dev"

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-version" {
		fmt.Println(Version)
		return
	}
	fmt.Println(strutil.Slug(strings.Join(os.Args[1:], " ")))
}
