package rules

// What counts as remote: a dual-use token (RegisterXLL, the ShellWindows
// CLSID, ...) is lateral movement only when the text it is in names a
// target computer, and a host call (GetTypeFromProgID(progID, server))
// only when its server argument names one. A named loopback target
// (localhost, 127.0.0.1, ".", the computer's own name) counts too, as
// loopback: the call takes the remote-activation path and differs from
// lateral movement only in the name, and Atomic Red Team's T1021.003 tests
// run that way. Reading these allocates nothing.

// hostTarget classifies a server argument or a target parameter's value.
func hostTarget(v, self string) target {
	v = trimHost(v)
	switch {
	case v == "":
		return targetNone
	case inFold(v, notHosts):
		return targetNone
	case isLoopback(v, self):
		return targetLoopback
	}
	return targetRemote
}

// trimHost removes the spaces, quotes and escapes around a value:
// \""localhost\"" in a command line, 'fs01', `"srv`" in PowerShell.
func trimHost(v string) string {
	isTrim := func(c byte) bool {
		switch c {
		case ' ', '\t', '\r', '\n', '"', '\'', '`', '\\':
			return true
		}
		return false
	}
	for v != "" && isTrim(v[0]) {
		v = v[1:]
	}
	for v != "" && isTrim(v[len(v)-1]) {
		v = v[:len(v)-1]
	}
	return v
}

// inFold reports whether v is one of list, ignoring ASCII case.
func inFold(v string, list []string) bool {
	for _, s := range list {
		if equalFold(v, s) {
			return true
		}
	}
	return false
}

// isLoopback reports whether a host names this computer.
func isLoopback(v, self string) bool {
	if inFold(v, loopbackHosts) || isLoopbackIPv4(v) {
		return true
	}
	if self == "" {
		return false
	}
	// WORKSTATION5 and WORKSTATION5.theshire.local are one computer; an
	// address's first label ("10" of 10.0.0.5) is no computer name.
	return equalFold(v, self) || (hasLetter(firstLabel(v)) && equalFold(firstLabel(v), firstLabel(self)))
}

// isLoopbackIPv4 reports whether v is an address in 127.0.0.0/8.
func isLoopbackIPv4(v string) bool {
	if len(v) < len("127.0.0.1") || v[:4] != "127." {
		return false
	}
	for i := 4; i < len(v); i++ {
		if (v[i] < '0' || v[i] > '9') && v[i] != '.' {
			return false
		}
	}
	return true
}

func firstLabel(host string) string {
	for i := 0; i < len(host); i++ {
		if host[i] == '.' {
			return host[:i]
		}
	}
	return host
}

func hasLetter(s string) bool {
	for i := 0; i < len(s); i++ {
		if isASCIILetter(s[i]) {
			return true
		}
	}
	return false
}

func equalFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

// namedTargetIn returns the target the text's target parameters name: a
// remote one if any does, else loopback if one names this computer, else
// targetNone. It runs once per text that holds a dual-use token. The text
// may be cut out of a longer one: cutStart, what precedes its first byte
// is unknown, so no parameter starts there; cutEnd, a value that runs to
// its end may go on, so it is not read.
func namedTargetIn(s, self string, cutStart, cutEnd bool) target {
	found := targetNone
	for i := 0; i < len(s); i++ {
		if (i > 0 && !isParameterBoundary(s[i-1])) || (i == 0 && cutStart) {
			continue
		}
		if v, ok, ended := boundParameter(s[i:]); ok {
			if !ended && cutEnd {
				continue
			}
			// A pipeline's 4103 record: name="ComputerName"; value="srv01".
			switch hostTarget(v, self) {
			case targetRemote:
				return targetRemote
			case targetLoopback:
				found = targetLoopback
			}
			continue
		}
		j := i
		dashed := false
		if s[j] == '-' || s[j] == '/' {
			dashed = true
			j++
			if j < len(s) && s[j] == '-' {
				j++
			}
		}
		k := j
		for k < len(s) && isASCIILetter(s[k]) {
			k++
		}
		if k == j || k == len(s) {
			continue
		}
		switch {
		case dashed && inFold(s[j:k], targetParameters) && (s[k] == ':' || s[k] == '=' || s[k] == ' ' || s[k] == '\t'):
		case !dashed && s[k] == '=' && inFold(s[j:k], targetKeys):
		default:
			continue
		}
		k++
		for k < len(s) && (s[k] == ' ' || s[k] == '\t') {
			k++
		}
		v := k
		for v < len(s) && !isValueEnd(s[v]) {
			v++
		}
		if v == len(s) && cutEnd {
			break
		}
		switch hostTarget(s[k:v], self) {
		case targetRemote:
			return targetRemote
		case targetLoopback:
			found = targetLoopback
		}
		i = v - 1
	}
	return found
}

// boundParameter reads a parameter binding as PowerShell's module
// logging (4103) writes it, ParameterBinding(Cmd): name="ComputerName";
// value="srv01", and returns its value if the name is a target parameter,
// and whether the value ended before the text.
func boundParameter(s string) (v string, ok, ended bool) {
	const name, value = `name="`, `"; value="`
	if !hasPrefixFold(s, name) {
		return "", false, false
	}
	k := len(name)
	for k < len(s) && isASCIILetter(s[k]) {
		k++
	}
	if !inFold(s[len(name):k], targetParameters) || !hasPrefixFold(s[k:], value) {
		return "", false, false
	}
	v = s[k+len(value):]
	for i := 0; i < len(v); i++ {
		if v[i] == '"' || v[i] == '\r' || v[i] == '\n' {
			return v[:i], true, true
		}
	}
	return v, true, false
}

// isParameterBoundary is what may precede a parameter: the start of an
// argument or a statement.
func isParameterBoundary(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', '(', '{', ';', '|', ',':
		return true
	}
	return false
}

// isValueEnd ends a parameter's value.
func isValueEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', ',', ';', ')', '|', '{', '}':
		return true
	}
	return false
}
