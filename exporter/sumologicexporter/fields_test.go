package sumologicexporter

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

func TestResourceHeaders(t *testing.T) {
	res := pcommon.NewResource()
	require.NoError(t, res.Attributes().FromRaw(map[string]any{
		"_sourceCategory": "security/windows/dcom",
		"_sourceName":     "Security",
		"_sourceHost":     "HOST1\r\n",
		"host.name":       "HOST1",
		"weird,key=x":     "v,a=l\nue\r",
		"count":           int64(5),
		"empty":           "",
		"":                "no key",
	}))
	h := resourceHeaders(res, zap.NewNop())
	assert.Equal(t, "security/windows/dcom", h.Get(headerCategory))
	assert.Equal(t, "Security", h.Get(headerName))
	assert.Equal(t, "HOST1__", h.Get(headerHost), "control characters would make net/http refuse the request")
	assert.Equal(t, "count=5, host.name=HOST1, weird_key:x=v_a:l_ue_", h.Get(headerFields))
	assert.Len(t, h, 4)

	assert.Empty(t, resourceHeaders(pcommon.NewResource(), zap.NewNop()), "no attributes, no headers")
}

func TestFieldsHeaderLimits(t *testing.T) {
	attrs := pcommon.NewMap()
	for i := range 35 {
		attrs.PutStr(fmt.Sprintf("k%02d", i), "v")
	}
	attrs.PutStr("a_max_value", strings.Repeat("é", maxFieldValueLen))    // 200 characters: kept
	attrs.PutStr("a_long_value", strings.Repeat("é", maxFieldValueLen+1)) // dropped
	attrs.PutStr("a"+strings.Repeat("k", maxFieldKeyLen), "long key")     // 256 characters: dropped
	attrs.PutStr(strings.Repeat("b", maxFieldKeyLen), "max key")          // 255: kept, sorts after "a…"
	core, logs := observer.New(zapcore.DebugLevel)

	got := strings.Split(fieldsHeader(attrs, zap.New(core)), ", ")

	require.Len(t, got, maxFields)
	assert.Equal(t, "a_max_value="+strings.Repeat("é", maxFieldValueLen), got[0])
	assert.Equal(t, strings.Repeat("b", maxFieldKeyLen)+"=max key", got[1])
	assert.Equal(t, "k00=v", got[2])
	assert.Equal(t, "k27=v", got[29], "sorted, the first 30 are kept")

	require.Equal(t, 1, logs.Len())
	entry := logs.All()[0]
	assert.Equal(t, zapcore.DebugLevel, entry.Level)
	dropped := fmt.Sprint(entry.ContextMap()["keys"])
	for _, k := range []string{"a_long_value", "k28", "k34", "akkkk"} {
		assert.Contains(t, dropped, k)
	}
}

func TestSanitizeField(t *testing.T) {
	assert.Equal(t, "a_b:c_d_e_f_g", sanitizeField("a,b=c\nd\re\tf\x7fg"))
}
