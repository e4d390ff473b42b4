package sigma

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// Loaded is what Load read: the compiled rules, in file order, and the
// rules (or files) it rejected.
type Loaded struct {
	Files    []string
	Rules    []*Rule
	Rejected []Rejection
}

// Load reads rules from files, directories (every .yml and .yaml file under
// them) and globs. An entry that names nothing, or that cannot be read,
// is an error; a rule that cannot be compiled is a rejection, and a rule
// id seen before is one too.
func Load(entries []string) (*Loaded, error) {
	var files []string
	for _, entry := range entries {
		found, err := expand(entry)
		if err != nil {
			return nil, err
		}
		files = append(files, found...)
	}
	l := &Loaded{}
	seenFile := make(map[string]bool)
	seenID := make(map[string]string)
	for _, f := range files {
		if seenFile[f] {
			continue
		}
		seenFile[f] = true
		data, err := os.ReadFile(f) //nolint:gosec // G304: rule files the configuration names
		if err != nil {
			return nil, err
		}
		l.Files = append(l.Files, f)
		rules, rejected := Compile(f, data)
		l.Rejected = append(l.Rejected, rejected...)
		for _, r := range rules {
			if first, dup := seenID[r.ID]; dup && r.ID != "" {
				l.Rejected = append(l.Rejected, Rejection{
					File: f, Line: r.Line, ID: r.ID, Title: r.Title,
					Reason: "rule id already loaded from " + first,
				})
				continue
			}
			seenID[r.ID] = fmt.Sprintf("%s:%d", f, r.Line)
			l.Rules = append(l.Rules, r)
		}
	}
	return l, nil
}

// expand lists the rule files an entry names, sorted.
func expand(entry string) ([]string, error) {
	if strings.ContainsAny(entry, "*?[") {
		matches, err := filepath.Glob(entry)
		if err != nil {
			return nil, fmt.Errorf("%q: %w", entry, err)
		}
		var files []string
		for _, m := range matches {
			found, err := expand(m)
			if err != nil {
				return nil, err
			}
			files = append(files, found...)
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%q matches no rule file", entry)
		}
		return files, nil
	}
	info, err := os.Stat(entry)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{entry}, nil
	}
	var files []string
	err = filepath.WalkDir(entry, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(path, ".yml") || strings.HasSuffix(path, ".yaml")) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("%q holds no .yml or .yaml file", entry)
	}
	slices.Sort(files)
	return files, nil
}
