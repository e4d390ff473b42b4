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
	switch shape {
	case XMLShape:
		return sumBodies(ld, func(body pcommon.Value) int {
			id, rest, ok := floorXMLEventID(body.Str())
			if !ok {
				return 0
			}
			return floorXML(id, rest)
		})
	case ArrayShape:
		return sumBodies(ld, func(body pcommon.Value) int {
			m := body.Map()
			return floorArray(m, floorEventID(m))
		})
	default:
		return sumBodies(ld, func(body pcommon.Value) int {
			m := body.Map()
			return floorMap(m, floorEventID(m))
		})
	}
}

// CorrelationFloor is Floor plus what the correlation cannot avoid reading
// of the events it joins besides process creations: whether a Sysmon 3
// connection is inbound and the process that accepted it, a 4624's logon
// type and, for a network logon, what a later detection is enriched with
// (host, logon id, source address and port, account). It sets the floor
// for `extended` with correlation on: no implementation of the joins reads
// less. Each record's event id is read once, as in Floor. (Exits are left
// out, although the correlation reads the image of every exit to know
// whether it ends a COM server, whatever arrived before it: this floor is a
// little low for the realistic mix, 7 % of which are exits.)
func CorrelationFloor(ld plog.Logs, shape Shape) int {
	switch shape {
	case XMLShape:
		return sumBodies(ld, func(body pcommon.Value) int {
			id, rest, ok := floorXMLEventID(body.Str())
			switch {
			case !ok:
				return 0
			case correlated(id):
				return corrFloorXML(id, rest)
			default:
				return floorXML(id, rest)
			}
		})
	case ArrayShape:
		return sumBodies(ld, func(body pcommon.Value) int {
			m := body.Map()
			id := floorEventID(m)
			if correlated(id) {
				return corrFloorArray(m, id)
			}
			return floorArray(m, id)
		})
	default:
		return sumBodies(ld, func(body pcommon.Value) int {
			m := body.Map()
			id := floorEventID(m)
			if correlated(id) {
				return corrFloorMap(m, id)
			}
			return floorMap(m, id)
		})
	}
}

// sumBodies adds up read over every record's body.
func sumBodies(ld plog.Logs, read func(pcommon.Value) int) int {
	n := 0
	rls := ld.ResourceLogs()
	for i := 0; i < rls.Len(); i++ {
		sls := rls.At(i).ScopeLogs()
		for j := 0; j < sls.Len(); j++ {
			lrs := sls.At(j).LogRecords()
			for k := 0; k < lrs.Len(); k++ {
				n += read(lrs.At(k).Body())
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

// eventData returns the event_data map of a receiver map body.
func eventData(m pcommon.Map) (pcommon.Map, bool) {
	ed, ok := m.Get("event_data")
	if !ok {
		return pcommon.Map{}, false
	}
	return ed.Map(), true
}

func isProcessCreation(id int64) bool { return id == 1 || id == 4688 }

// floorMap reads a receiver map body whose event id has been read.
func floorMap(m pcommon.Map, id int64) int {
	if !isProcessCreation(id) {
		return int(id)
	}
	data, ok := eventData(m)
	if !ok {
		return int(id)
	}
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

// floorArray is floorMap for event_data as an array.
func floorArray(m pcommon.Map, id int64) int {
	if !isProcessCreation(id) {
		return int(id)
	}
	data, ok := eventData(m)
	if !ok {
		return int(id)
	}
	arr, ok := data.Get("data")
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

// floorXMLEventID reads the event id with strings.Index and returns the text
// after it.
func floorXMLEventID(s string) (id int64, rest string, ok bool) {
	i := strings.Index(s, "<EventID")
	if i < 0 {
		return 0, "", false
	}
	rest = s[i+len("<EventID"):]
	gt := strings.IndexByte(rest, '>')
	if gt < 0 {
		return 0, "", false
	}
	rest = rest[gt+1:]
	for j := 0; j < len(rest) && rest[j] >= '0' && rest[j] <= '9'; j++ {
		id = id*10 + int64(rest[j]-'0')
	}
	return id, rest, true
}

// floorXML finds the three values after the event id (rest) with
// strings.Index and does not unescape them; finding a value's end reads all
// of its bytes.
func floorXML(id int64, rest string) int {
	if !isProcessCreation(id) {
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

// corrFields are the event data fields CorrelationFloor reads: the first
// decides whether the others are needed.
func corrFields(id int64) (first string, rest []string) {
	switch id {
	case 3:
		return "Initiated", []string{"Image"}
	case 4624:
		return "LogonType", []string{"TargetLogonId", "IpAddress", "IpPort", "TargetUserName"}
	}
	return "", nil
}

// maxCorrRest is the most fields corrFields names after the first.
const maxCorrRest = 4

// xmlDataOpen are the start tags of the fields corrFields names.
var xmlDataOpen = func() map[string]string {
	m := map[string]string{}
	for _, id := range []int64{3, 4624} {
		first, rest := corrFields(id)
		for _, name := range append([]string{first}, rest...) {
			m[name] = `<Data Name="` + name + `">`
		}
	}
	return m
}()

// corrNeedsRest: an inbound connection, a network logon.
func corrNeedsRest(id int64, first string) bool {
	if id == 3 {
		return first == "false"
	}
	return first == "3"
}

// correlated: the ids CorrelationFloor reads beyond the floor.
func correlated(id int64) bool { return id == 3 || id == 4624 }

// corrFloorMap reads what the joins need of a correlated receiver map body
// whose event id has been read.
func corrFloorMap(m pcommon.Map, id int64) int {
	data, ok := eventData(m)
	if !ok {
		return 0
	}
	first, rest := corrFields(id)
	v, ok := data.Get(first)
	if !ok || !corrNeedsRest(id, v.Str()) {
		return 1
	}
	n := 0
	if id == 4624 {
		if c, ok := m.Get("computer"); ok {
			n += touch(c.Str())
		}
	}
	for _, k := range rest {
		if v, ok := data.Get(k); ok {
			n += touch(v.Str())
		}
	}
	return n
}

// corrFloorArray is corrFloorMap for event_data as an array: the walk
// passes every field, but the other values are read only once the first
// says they are needed, as in the map.
func corrFloorArray(m pcommon.Map, id int64) int {
	data, ok := eventData(m)
	if !ok {
		return 0
	}
	arr, ok := data.Get("data")
	if !ok {
		return 0
	}
	first, rest := corrFields(id)
	s := arr.Slice()
	var firstValue pcommon.Value
	var values [maxCorrRest]pcommon.Value
	var have [maxCorrRest]bool // a zero Value must not be touched
	haveFirst, found := false, 0
	for i := 0; i < s.Len() && found < 1+len(rest); i++ {
		for k, v := range s.At(i).Map().All() {
			if k == first {
				firstValue, haveFirst = v, true
				found++
				continue
			}
			for j, r := range rest {
				if k == r {
					values[j], have[j] = v, true
					found++
				}
			}
		}
	}
	if !haveFirst || !corrNeedsRest(id, firstValue.Str()) {
		return 1
	}
	n := 0
	if id == 4624 {
		if c, ok := m.Get("computer"); ok {
			n += touch(c.Str())
		}
	}
	for j := range rest {
		if have[j] {
			n += touch(values[j].Str())
		}
	}
	return n
}

// corrFloorXML finds what the joins need after the event id (rest). The
// computer comes before the event data: finding the fields reads it.
func corrFloorXML(id int64, rest string) int {
	first, others := corrFields(id)
	value := func(name string) (string, bool) {
		open := xmlDataOpen[name]
		j := strings.Index(rest, open)
		if j < 0 {
			return "", false
		}
		v := rest[j+len(open):]
		end := strings.Index(v, "</Data>")
		if end < 0 {
			return "", false
		}
		return v[:end], true
	}
	v, ok := value(first)
	if !ok || !corrNeedsRest(id, v) {
		return 1
	}
	n := 0
	for _, k := range others {
		if v, ok := value(k); ok {
			n += len(v)
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
				if err := xml.NewDecoder(strings.NewReader(lrs.At(k).Body().Str())).Decode(&ev); err != nil { //nolint:gosec // G709: the contender decodes the benchmark's own generated batches
					return n, fmt.Errorf("record %d: %w", k, err)
				}
				n += int(ev.System.EventID) + len(ev.EventData.Data)
			}
		}
	}
	return n, nil
}
