//go:build tools

// Package tools makes actionlint a direct requirement of this module, so that Dependabot's gomod updater,
// which skips indirect requirements (and does not read `tool` directives yet: dependabot-core#12050),
// proposes its updates.
package tools

import _ "github.com/rhysd/actionlint/cmd/actionlint"
