//go:build !floor_minimal

package main

import (
	_ "github.com/urfave/cli/v2"

	_ "github.com/drainit/drainit/supervise"
)
