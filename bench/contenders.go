package bench

import (
	"context"
	"encoding/xml"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.yaml.in/yaml/v3"

	dcom "github.com/otelcol-dcom/dcomdetectionprocessor"
)

// NewDCOM builds the dcomdetection processor through its factory, with the
// given profile, default settings otherwise, and a nop consumer after it.
func NewDCOM(profile string) (processor.Logs, error) {
	return newDCOM(profile, true)
}

// NewDCOMWithoutCorrelation is NewDCOM with correlation: enabled: false.
func NewDCOMWithoutCorrelation(profile string) (processor.Logs, error) {
	return newDCOM(profile, false)
}

func newDCOM(profile string, correlation bool) (processor.Logs, error) {
	f := dcom.NewFactory()
	cfg := f.CreateDefaultConfig().(*dcom.Config)
	cfg.Profile = profile
	if !correlation {
		cfg.Correlation.Enabled = false
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return start(f, cfg)
}

// OTTLSeedConfigFile holds the seed query as a user would write it for the
// contrib transform processor.
func OTTLSeedConfigFile() string { return filepath.Join(TestdataDir(), "ottl_seed.yaml") }

// NewOTTLSeed builds the contrib transform processor (v0.161.0) with the
// seed query rendered in OTTL.
func NewOTTLSeed() (processor.Logs, error) {
	raw, err := os.ReadFile(OTTLSeedConfigFile())
	if err != nil {
		return nil, err
	}
	var m map[string]any
	if err := yaml.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	f := transformprocessor.NewFactory()
	cfg := f.CreateDefaultConfig()
	if err := confmap.NewFromStringMap(m).Unmarshal(cfg); err != nil {
		return nil, err
	}
	if v, ok := cfg.(interface{ Validate() error }); ok {
		if err := v.Validate(); err != nil {
			return nil, err
		}
	}
	return start(f, cfg)
}

func start(f processor.Factory, cfg component.Config) (processor.Logs, error) {
	p, err := f.CreateLogs(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	if err != nil {
		return nil, err
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		return nil, err
	}
	return p, nil
}

// Floor reads, from every record, the fields any detection must read: the
// event id and, for a process creation (Sysmon 1, Security 4688), the image,
// the parent image and the command line. Nothing else. It returns a value
// that depends on every byte position read, so nothing is optimized away.
func Floor(ld plog.Logs, shape Shape) int {
	n := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				body := lrs.At(k).Body()
				switch shape {
				case XMLShape:
					n += floorXML(body.Str())
				case ArrayShape:
					n += floorArray(body)
				default:
					n += floorMap(body)
				}
			}
		}
	}
	return n
}

func floorEventID(m pcommon.Map) int64 {
	v, ok := m.Get("event_id")
	if !ok || v.Type() != pcommon.ValueTypeMap {
		return -1
	}
	id, ok := v.Map().Get("id")
	if !ok {
		return -1
	}
	return id.Int()
}

func fieldNames(id int64) (image, parent string) {
	if id == 4688 {
		return "NewProcessName", "ParentProcessName"
	}
	return "Image", "ParentImage"
}

func floorMap(body pcommon.Value) int {
	m := body.Map()
	id := floorEventID(m)
	if id != 1 && id != 4688 {
		return int(id)
	}
	ed, ok := m.Get("event_data")
	if !ok {
		return 0
	}
	data := ed.Map()
	image, parent := fieldNames(id)
	n := 0
	for _, k := range [3]string{image, parent, "CommandLine"} {
		if v, ok := data.Get(k); ok {
			n += touch(v.Str())
		}
	}
	return n
}

// touch loads every cache line of a value and computes nothing on it: a
// detection has to look at the bytes of the image names and of the whole
// command line, so they have to come into the cache.
func touch(s string) int {
	if s == "" {
		return 0
	}
	n := int(s[len(s)-1])
	for i := 0; i < len(s); i += 64 {
		n += int(s[i])
	}
	return n
}

func floorArray(body pcommon.Value) int {
	m := body.Map()
	id := floorEventID(m)
	if id != 1 && id != 4688 {
		return int(id)
	}
	ed, ok := m.Get("event_data")
	if !ok {
		return 0
	}
	arr, ok := ed.Map().Get("data")
	if !ok {
		return 0
	}
	image, parent := fieldNames(id)
	s := arr.Slice()
	n, found := 0, 0
	for i := 0; i < s.Len() && found < 3; i++ {
		for k, v := range s.At(i).Map().All() {
			if k == image || k == parent || k == "CommandLine" {
				n += touch(v.Str())
				found++
			}
		}
	}
	return n
}

// floorXML finds the event id and the three values with strings.Index and
// does not unescape them; finding a value's end reads all of its bytes.
func floorXML(s string) int {
	i := strings.Index(s, "<EventID")
	if i < 0 {
		return 0
	}
	rest := s[i+len("<EventID"):]
	gt := strings.IndexByte(rest, '>')
	if gt < 0 {
		return 0
	}
	rest = rest[gt+1:]
	var id int64
	for j := 0; j < len(rest) && rest[j] >= '0' && rest[j] <= '9'; j++ {
		id = id*10 + int64(rest[j]-'0')
	}
	if id != 1 && id != 4688 {
		return int(id)
	}
	var image, parent string
	if id == 4688 {
		image, parent = `<Data Name="NewProcessName">`, `<Data Name="ParentProcessName">`
	} else {
		image, parent = `<Data Name="Image">`, `<Data Name="ParentImage">`
	}
	n := 0
	for _, open := range [3]string{image, parent, `<Data Name="CommandLine">`} {
		j := strings.Index(rest, open)
		if j < 0 {
			continue
		}
		v := rest[j+len(open):]
		if end := strings.Index(v, "</Data>"); end >= 0 {
			n += end + int(v[0])
		}
	}
	return n
}

// DecodeXML decodes every record's XML into XMLEvent with encoding/xml.
func DecodeXML(ld plog.Logs) (int, error) {
	n := 0
	var ev XMLEvent
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				ev = XMLEvent{}
				if err := xml.NewDecoder(strings.NewReader(lrs.At(k).Body().Str())).Decode(&ev); err != nil {
					return n, fmt.Errorf("record %d: %w", k, err)
				}
				n += int(ev.System.EventID) + len(ev.EventData.Data)
			}
		}
	}
	return n, nil
}
