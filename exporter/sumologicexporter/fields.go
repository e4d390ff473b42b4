package sumologicexporter

import (
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
)

const (
	headerClient   = "X-Sumo-Client"
	headerCategory = "X-Sumo-Category"
	headerName     = "X-Sumo-Name"
	headerHost     = "X-Sumo-Host"
	headerFields   = "X-Sumo-Fields"

	attrSourceCategory = "_sourceCategory"
	attrSourceName     = "_sourceName"
	attrSourceHost     = "_sourceHost"

	// Sumo's documented limits for fields sent in one request; fields beyond
	// them would be dropped by Sumo anyway, so they are dropped (and logged) here.
	maxFields        = 30
	maxFieldKeyLen   = 255
	maxFieldValueLen = 200
)

// resourceHeaders returns the X-Sumo-* headers for the records of one
// resource: the three source headers from _sourceCategory/_sourceName/
// _sourceHost and X-Sumo-Fields from every other non-empty attribute.
func resourceHeaders(res pcommon.Resource, logger *zap.Logger) http.Header {
	h := http.Header{}
	attrs := res.Attributes()
	for attr, header := range map[string]string{
		attrSourceCategory: headerCategory, attrSourceName: headerName, attrSourceHost: headerHost,
	} {
		if v, ok := attrs.Get(attr); ok {
			if s := headerSafe(v.AsString()); s != "" {
				h.Set(header, s)
			}
		}
	}
	if f := fieldsHeader(attrs, logger); f != "" {
		h.Set(headerFields, f)
	}
	return h
}

// fieldsHeader renders attributes as contrib does: sanitized "k=v" pairs,
// sorted and joined by ", ". Pairs over Sumo's limits are dropped.
func fieldsHeader(attrs pcommon.Map, logger *zap.Logger) string {
	fields := make([]string, 0, attrs.Len())
	var dropped []string
	for k, v := range attrs.All() {
		if k == "" || k == attrSourceCategory || k == attrSourceName || k == attrSourceHost {
			continue
		}
		val := v.AsString()
		if val == "" {
			continue
		}
		if utf8.RuneCountInString(k) > maxFieldKeyLen || utf8.RuneCountInString(val) > maxFieldValueLen {
			dropped = append(dropped, shorten(k, 64))
			continue
		}
		fields = append(fields, sanitizeField(k)+"="+sanitizeField(val))
	}
	slices.Sort(fields)
	if len(fields) > maxFields {
		for _, f := range fields[maxFields:] {
			dropped = append(dropped, f[:strings.IndexByte(f, '=')])
		}
		fields = fields[:maxFields]
	}
	if len(dropped) > 0 {
		logger.Debug("Resource attributes not sent as X-Sumo-Fields: over Sumo's limits",
			zap.Strings("keys", dropped), zap.Int("max_fields", maxFields),
			zap.Int("max_key_length", maxFieldKeyLen), zap.Int("max_value_length", maxFieldValueLen))
	}
	return strings.Join(fields, ", ")
}

// sanitizeField applies contrib's replacements (',' → '_', '=' → ':',
// '\n' → '_') so Sumo can split the header, and also replaces the other
// control characters, which net/http refuses in header values.
func sanitizeField(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == ',':
			return '_'
		case r == '=':
			return ':'
		case r < 0x20 || r == 0x7f:
			return '_'
		}
		return r
	}, s)
}

// headerSafe replaces control characters (other than tab) that would make
// net/http reject the request on every retry.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if (r < 0x20 && r != '\t') || r == 0x7f {
			return '_'
		}
		return r
	}, s)
}

func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
