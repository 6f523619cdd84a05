package copilot

// Bool returns a pointer to v, for the optional (*bool) fields of the options.
func Bool(v bool) *bool { return &v }

// String returns a pointer to v, for the optional (*string) fields.
func String(v string) *string { return &v }

// Float64 returns a pointer to v, for the optional (*float64) fields.
func Float64(v float64) *float64 { return &v }

// Int returns a pointer to v, for the optional (*int) fields.
func Int(v int) *int { return &v }
