// Package greet builds the messages the services send; internal to the services module.
package greet

import (
	"fmt"

	"example.com/platform/strutil"
)

// Message greets name with greeting, keeping names to a readable length.
func Message(greeting, name string) string {
	if name == "" {
		name = "world"
	}
	return fmt.Sprintf("%s, %s!", greeting, strutil.Truncate(name, 20))
}

// JobID names a unit of work after its title.
func JobID(n int, title string) string {
	return fmt.Sprintf("%04d-%s", n, strutil.Slug(title))
}
