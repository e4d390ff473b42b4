package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelcol-dcom/dcomdetectionprocessor/e2e/internal/collectortest"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/streamtest"
	"github.com/otelcol-dcom/dcomdetectionprocessor/internal/winevent"
)

const (
	// The shipped configs' defaults: the test sets neither KAFKA_TOPIC nor
	// KAFKA_GROUP.
	tierTopic = "windows-events"
	tierGroup = "otelcol-dcom-gateway"
	// tierPartitions is the topic's partition count.
	tierPartitions = 8
	// tierWait bounds each wait of the tier test (group stable, records in).
	tierWait = 120 * time.Second
)

// kafkaTier is a Kafka-protocol broker (franz-go's kfake, in this process,
// on 127.0.0.1) with the collectors of a tier around it: forwarders running
// config/wef-collector.yaml and gateways running config/gateway-kafka.yaml,
// each gateway with its own stand-in backends. A test can start more of
// either, or stop one, while the tier runs.
type kafkaTier struct {
	t       *testing.T
	cluster *kfake.Cluster
	brokers string // KAFKA_BROKERS: every broker, comma-separated
	admin   *kadm.Client
}

// tierGateway is one gateway process and what it exported.
type tierGateway struct {
	name    string
	col     *collectortest.Collector
	otlp    *otlpSink // otlp_http
	sumo    *otlpSink // sumologic, log_format otlp
	metrics string    // its Prometheus endpoint
}

// tierForwarder is one forwarder process.
type tierForwarder struct {
	col     *collectortest.Collector
	url     string // its OTLP/HTTP receiver's /v1/logs
	metrics string // its Prometheus endpoint
}

func newKafkaTier(t *testing.T) *kafkaTier {
	t.Helper()
	cluster, err := kfake.NewCluster(kfake.NumBrokers(3), kfake.SeedTopics(tierPartitions, tierTopic))
	require.NoError(t, err)
	t.Cleanup(cluster.Close)
	client, err := kgo.NewClient(kgo.SeedBrokers(cluster.ListenAddrs()...))
	require.NoError(t, err)
	t.Cleanup(client.Close)
	return &kafkaTier{t: t, cluster: cluster, brokers: strings.Join(cluster.ListenAddrs(), ","), admin: kadm.NewClient(client)}
}

// startGateway starts config/gateway-kafka.yaml as shipped, and waits until
// it is ready; only the health_check and metrics ports are moved, so that
// several run on one machine.
func (k *kafkaTier) startGateway(name string) *tierGateway {
	t := k.t
	t.Helper()
	g := &tierGateway{name: name, otlp: newOTLPSink(t), sumo: newOTLPSink(t)}
	g.col = collectortest.StartReady(t, tierWait, func() *collectortest.Collector {
		port := collectortest.FreePort(t)
		g.metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
		overlay := collectortest.WriteFile(t, name+".yaml", "extensions::health_check::endpoint: 127.0.0.1:"+strconv.Itoa(collectortest.FreePort(t))+"\n")
		return collectortest.Start(t, collectortest.Options{Name: name, StopWait: stopWait, TailLines: 40, ExtraConfigs: []string{overlay}},
			collectortest.RepoPath(t, "config", "gateway-kafka.yaml"),
			"KAFKA_BROKERS="+k.brokers,
			// the sumologic exporter posts OTLP (log_format: otlp) to the URL as given
			"SUMO_HTTP_SOURCE_URL="+g.sumo.server.URL+"/v1/logs",
			"OTLP_HTTP_ENDPOINT="+g.otlp.server.URL,
			fmt.Sprintf("%s=%d", metricsEnv, port))
	})
	return g
}

// startForwarder starts a forwarder of the tier (startWEFCollector).
func (k *kafkaTier) startForwarder(name string) *tierForwarder {
	k.t.Helper()
	return startWEFCollector(k.t, name, k.brokers)
}

// startWEFCollector starts config/wef-collector.yaml with an OTLP/HTTP
// receiver in the place of windowseventlog (Windows only), its storage in
// the test's directory and extraConfigs merged over it, and waits until it
// is ready.
func startWEFCollector(t *testing.T, name, brokers string, extraConfigs ...string) *tierForwarder {
	t.Helper()
	dir := t.TempDir()
	f := &tierForwarder{}
	f.col = collectortest.StartReady(t, tierWait, func() *collectortest.Collector {
		listen := "127.0.0.1:" + strconv.Itoa(collectortest.FreePort(t))
		overlay := collectortest.WriteFile(t, name+".yaml", edgeExtensions(t, dir)+`receivers:
  otlp/stand_in:
    protocols:
      http:
        endpoint: `+listen+`
service:
  pipelines:
    logs:
      receivers: [otlp/stand_in]
`)
		port := collectortest.FreePort(t)
		f.url, f.metrics = "http://"+listen+"/v1/logs", fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
		return collectortest.Start(t, collectortest.Options{Name: name, StopWait: stopWait, TailLines: 40, ExtraConfigs: append([]string{overlay}, extraConfigs...)},
			collectortest.RepoPath(t, "config", "wef-collector.yaml"),
			"KAFKA_BROKERS="+brokers, fmt.Sprintf("%s=%d", metricsEnv, port))
	})
	return f
}

// waitStable waits until the group is Stable with `members` members that
// hold every partition between them, and returns that assignment.
func (k *kafkaTier) waitStable(members int) map[string][]int32 {
	t := k.t
	t.Helper()
	deadline := time.Now().Add(tierWait)
	var last string
	for time.Now().Before(deadline) {
		got, state := k.assignment()
		last = fmt.Sprintf("%s %v", state, got)
		assigned := 0
		for _, ps := range got {
			assigned += len(ps)
		}
		if state == "Stable" && len(got) == members && assigned == tierPartitions {
			return got
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("group %s not stable with %d members holding %d partitions within %s; last: %s", tierGroup, members, tierPartitions, tierWait, last)
	return nil
}

// assignment is the group's partitions of the topic by member id, and the
// group's state.
func (k *kafkaTier) assignment() (map[string][]int32, string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	groups, err := k.admin.DescribeGroups(ctx, tierGroup)
	if err != nil {
		return nil, err.Error()
	}
	g, ok := groups[tierGroup]
	if !ok || g.Err != nil {
		return nil, fmt.Sprint("not described: ", g.Err)
	}
	out := map[string][]int32{}
	for _, m := range g.Members {
		var parts []int32
		if c, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range c.Topics {
				if tp.Topic == tierTopic {
					parts = append(parts, tp.Partitions...)
				}
			}
		}
		slices.Sort(parts)
		out[m.MemberID] = parts
	}
	return out, g.State
}

// topicRecords reads every message of the topic from the start, outside
// the group: the log records of each partition, and the number of messages.
func (k *kafkaTier) topicRecords(want int) (map[int32][]plog.ResourceLogs, int) {
	t := k.t
	t.Helper()
	client, err := kgo.NewClient(kgo.SeedBrokers(strings.Split(k.brokers, ",")...), kgo.ConsumeTopics(tierTopic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	require.NoError(t, err)
	defer client.Close()
	out := map[int32][]plog.ResourceLogs{}
	got, messages := 0, 0
	deadline := time.Now().Add(tierWait)
	for got < want && time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		fetches := client.PollFetches(ctx)
		cancel()
		fetches.EachRecord(func(r *kgo.Record) {
			ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(r.Value)
			require.NoError(t, err, "partition %d offset %d", r.Partition, r.Offset)
			for _, rl := range ld.ResourceLogs().All() {
				out[r.Partition] = append(out[r.Partition], rl)
			}
			got += ld.LogRecordCount()
			messages++
		})
	}
	require.Equal(t, want, got, "log records in the topic")
	return out, messages
}

// tierSource is one ordered source of events: a recorded stream (its lines
// in order, in one body shape) or a background host.
type tierSource struct {
	bodies []func(lr plog.LogRecord)
	next   int
}

// shortHost is a computer name as the producers key it: lower case, up to
// the first dot (README, "Scaling past one machine").
func shortHost(computer string) string {
	h := strings.ToLower(computer)
	if i := strings.IndexByte(h, '.'); i > 0 {
		h = h[:i]
	}
	return h
}

// streamSources renames each recorded stream's computers with a prefix of
// its own ("s3-WORKSTATION5.theshire.local"), so that the recordings of one
// lab host stay separate hosts, and sends every other stream as raw XML
// whose Security events name the computer by its short name in capitals
// ("S3-WORKSTATION5"), as a second forwarder would: the same host to the
// producers' key and to dcomdetection's correlation.
func streamSources(t *testing.T, streams []*streamtest.Stream) []*tierSource {
	t.Helper()
	var out []*tierSource
	for n, s := range streams {
		prefix := "s" + strconv.Itoa(n) + "-"
		src := &tierSource{}
		for i := range s.JSON {
			if n%2 == 0 {
				xml := s.XML[i]
				if strings.Contains(xml, "<Channel>Security</Channel>") {
					xml = xmlComputer.ReplaceAllStringFunc(xml, func(c string) string {
						name := strings.TrimSuffix(strings.TrimPrefix(c, "<Computer>"), "</Computer>")
						short, _, _ := strings.Cut(name, ".")
						return "<Computer>" + strings.ToUpper(prefix+short) + "</Computer>"
					})
				} else {
					xml = strings.Replace(xml, "<Computer>", "<Computer>"+prefix, 1)
				}
				src.bodies = append(src.bodies, func(lr plog.LogRecord) { lr.Body().SetStr(xml) })
				continue
			}
			line := strings.Replace(s.JSON[i], `"computer":"`, `"computer":"`+prefix, 1)
			m, err := winevent.MapFromJSON([]byte(line))
			require.NoError(t, err)
			src.bodies = append(src.bodies, func(lr plog.LogRecord) { m.CopyTo(lr.Body().SetEmptyMap()) })
		}
		out = append(out, src)
	}
	return out
}

var xmlComputer = regexp.MustCompile(`<Computer>[^<]*</Computer>`)

// streamHost maps a finding's host back to its stream and the computer the
// stream's expect file names: "S3-WORKSTATION5" and
// "s3-WORKSTATION5.theshire.local" are stream 3's
// WORKSTATION5.theshire.local.
func streamHost(streams []*streamtest.Stream, host string) (int, string, bool) {
	prefix, name, ok := strings.Cut(host, "-")
	n, err := strconv.Atoi(strings.TrimPrefix(strings.ToLower(prefix), "s"))
	if !ok || err != nil || !strings.HasPrefix(strings.ToLower(prefix), "s") || n >= len(streams) {
		return 0, "", false
	}
	if strings.Contains(name, ".") {
		return n, name, true
	}
	for _, e := range streams[n].Expect {
		if short, _, _ := strings.Cut(e.Host, "."); strings.EqualFold(short, name) {
			return n, e.Host, true
		}
	}
	for _, line := range streams[n].JSON {
		if m := jsonComputer.FindStringSubmatch(line); m != nil {
			if short, _, _ := strings.Cut(m[1], "."); strings.EqualFold(short, name) {
				return n, m[1], true
			}
		}
	}
	return n, name, true
}

var jsonComputer = regexp.MustCompile(`"computer":"([^"]*)"`)

// backgroundSources are hosts bg000..bg(n-1) with perHost benign events
// each: Sysmon 1 as receiver maps naming the host by its FQDN
// (bg007.corp.example), Security 4688 as raw XML naming it by its short
// name in capitals (BG007), as two forwarders would: one host either way.
func backgroundSources(t *testing.T, hosts, perHost int) []*tierSource {
	t.Helper()
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var out []*tierSource
	for h := range hosts {
		name := fmt.Sprintf("bg%03d", h)
		src := &tierSource{}
		for k := range perHost {
			at := t0.Add(time.Duration(k)*time.Second + time.Duration(h)*time.Millisecond).Format("2006-01-02T15:04:05.000Z")
			if k%2 == 0 {
				ev := map[string]any{
					"event_id":    map[string]any{"id": 1, "qualifiers": 0},
					"provider":    map[string]any{"name": "Microsoft-Windows-Sysmon", "guid": "{5770385F-C22A-43E0-BF4C-06F5698FFBD9}", "event_source": ""},
					"channel":     "Microsoft-Windows-Sysmon/Operational",
					"computer":    name + ".corp.example",
					"record_id":   1000 + k,
					"system_time": at,
					"level":       "4", "task": "1", "opcode": "0", "message": "", "version": 5,
					"keywords": []any{"0x8000000000000000"},
					"event_data": map[string]any{
						"UtcTime": at, "ProcessGuid": fmt.Sprintf("{b34bc01c-0000-0000-%04x-%012x}", h, k),
						"ProcessId": strconv.Itoa(4000 + k), "Image": `C:\Windows\System32\notepad.exe`,
						"CommandLine": fmt.Sprintf(`"C:\Windows\System32\notepad.exe" C:\Users\u%03d\notes-%d.txt`, h, k),
						"User":        fmt.Sprintf(`CORP\u%03d`, h), "LogonId": "0x2b78cd", "IntegrityLevel": "Medium",
						"ParentProcessId": "3100", "ParentImage": `C:\Windows\explorer.exe`, "ParentCommandLine": `C:\Windows\Explorer.EXE`,
					},
				}
				raw, err := json.Marshal(ev)
				require.NoError(t, err)
				m, err := winevent.MapFromJSON(raw)
				require.NoError(t, err)
				src.bodies = append(src.bodies, func(lr plog.LogRecord) { m.CopyTo(lr.Body().SetEmptyMap()) })
				continue
			}
			xml := `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-Security-Auditing" Guid="{54849625-5478-4994-A5BA-3E3B0328C30D}"/><EventID>4688</EventID><Version>2</Version><Task>13312</Task><Opcode>0</Opcode><Keywords>0x8020000000000000</Keywords><TimeCreated SystemTime="` + at + `"/><EventRecordID>` + strconv.Itoa(5000+k) + `</EventRecordID><Channel>Security</Channel><Computer>` + strings.ToUpper(name) + `</Computer><Security/></System><EventData><Data Name="SubjectUserSid">S-1-5-21-1-2-3-1104</Data><Data Name="SubjectUserName">u` + fmt.Sprintf("%03d", h) + `</Data><Data Name="SubjectDomainName">CORP</Data><Data Name="SubjectLogonId">0x2b78cd</Data><Data Name="NewProcessId">0x` + strconv.FormatInt(int64(0x2000+k), 16) + `</Data><Data Name="NewProcessName">C:\Windows\System32\conhost.exe</Data><Data Name="ProcessId">0x1c1c</Data><Data Name="CommandLine">\??\C:\Windows\system32\conhost.exe 0xffffffff -ForceV1</Data><Data Name="TargetUserSid">S-1-0-0</Data><Data Name="TargetLogonId">0x0</Data><Data Name="ParentProcessName">C:\Windows\System32\cmd.exe</Data></EventData></Event>`
			src.bodies = append(src.bodies, func(lr plog.LogRecord) { lr.Body().SetStr(xml) })
		}
		out = append(out, src)
	}
	return out
}

// interleave merges the sources into requests of perRequest records in a
// seeded random order that keeps each source's own order, as one forwarder
// sees the events of many hosts arrive.
func interleave(sources []*tierSource, perRequest int, seed int64) []plog.Logs {
	r := rand.New(rand.NewSource(seed))
	remaining := 0
	for _, s := range sources {
		remaining += len(s.bodies)
	}
	var out []plog.Logs
	var lrs plog.LogRecordSlice
	for n := 0; remaining > 0; n++ {
		if n%perRequest == 0 {
			ld := plog.NewLogs()
			lrs = ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
			out = append(out, ld)
		}
		// pick a source with probability proportional to what it has left
		pick := r.Intn(remaining)
		for _, s := range sources {
			left := len(s.bodies) - s.next
			if pick < left {
				s.bodies[s.next](lrs.AppendEmpty())
				s.next++
				break
			}
			pick -= left
		}
		remaining--
	}
	return out
}

// post sends one request to an OTLP/HTTP receiver. An OTLP
// ExportLogsServiceRequest is wire-identical to LogsData.
func post(t *testing.T, url string, ld plog.Logs) {
	t.Helper()
	raw, err := (&plog.ProtoMarshaler{}).MarshalLogs(ld)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(raw))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-protobuf")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode, "POST %s", url)
}

// recordKey names an event by its computer (lower case), event id and
// record id, read from a receiver map or raw XML body whatever the event is.
func recordKey(lr plog.LogRecord) (string, bool) {
	body := lr.Body()
	switch body.Type() {
	case pcommon.ValueTypeMap:
		m := body.Map()
		computer, ok1 := m.Get("computer")
		id, ok2 := m.Get("event_id")
		record, ok3 := m.Get("record_id")
		if !ok1 || !ok2 || !ok3 || id.Type() != pcommon.ValueTypeMap {
			return "", false
		}
		eventID, ok := id.Map().Get("id")
		if !ok {
			return "", false
		}
		return strings.ToLower(computer.AsString()) + "|" + eventID.AsString() + "|" + record.AsString(), true
	case pcommon.ValueTypeStr:
		m := xmlKeyFields.FindStringSubmatch(body.Str())
		if m == nil {
			return "", false
		}
		return strings.ToLower(m[3]) + "|" + m[1] + "|" + m[2], true
	default:
		return "", false
	}
}

var xmlKeyFields = regexp.MustCompile(`<EventID[^>]*>(\d+)</EventID>.*<EventRecordID>(\d+)</EventRecordID>.*<Computer>([^<]+)</Computer>`)

// recordKeys are the keys of records in order, a late alert's by the event
// it is about: for comparing what two exporters sent.
func recordKeys(t *testing.T, records []plog.LogRecord) []string {
	t.Helper()
	keys := make([]string, 0, len(records))
	for _, lr := range records {
		if isLateAlert(lr) {
			attrs := lr.Attributes()
			host, _ := attrs.Get("dcom.correlation.host")
			id, _ := attrs.Get("dcom.correlation.record.event_id")
			record, _ := attrs.Get("dcom.correlation.record.record_id")
			keys = append(keys, "late|"+strings.ToLower(host.AsString())+"|"+id.AsString()+"|"+record.AsString())
			continue
		}
		key, ok := recordKey(lr)
		require.True(t, ok)
		keys = append(keys, key)
	}
	slices.Sort(keys)
	return keys
}

func isLateAlert(lr plog.LogRecord) bool {
	v, ok := lr.Attributes().Get("dcom.correlation.late")
	return ok && v.Bool()
}

// TestKafkaTier runs the Kafka tier end to end on a Kafka-protocol broker
// of three nodes on 127.0.0.1 (kfake), topic windows-events with 8
// partitions: one forwarder process (config/wef-collector.yaml, OTLP in the
// place of ForwardedEvents) gets the recorded attack streams, every other one
// as raw XML, interleaved with 4,000 background events of 200 hosts, in
// requests that mix hosts; two gateway processes (config/gateway-kafka.yaml
// as shipped) consume in one group. Every record must come out of exactly
// one gateway; each gateway's sumologic and otlp_http exporters must send the
// same records, also when one gateway's Sumo endpoint answers 503 while the
// events flow (its otlp_http exporter goes on; its Sumo queue delivers
// after); every host must sit in one partition and be processed by one
// gateway, every required correlation finding of the streams must be produced
// exactly once with nothing unexpected, the background must raise nothing,
// and the group's assignment must not change while the test runs.
func TestKafkaTier(t *testing.T) {
	t.Parallel()
	tier := newKafkaTier(t)
	gateways := []*tierGateway{tier.startGateway("gateway-a"), tier.startGateway("gateway-b")}
	before := tier.waitStable(len(gateways))
	t.Logf("group %s stable, partitions by member: %v", tierGroup, before)
	forwarder := tier.startForwarder("forwarder")

	streams, err := streamtest.Load(collectortest.RepoPath(t, "testdata", "streams"))
	require.NoError(t, err)
	require.NotEmpty(t, streams)
	const bgHosts, bgPerHost = 200, 20
	sources := append(streamSources(t, streams), backgroundSources(t, bgHosts, bgPerHost)...)
	requests := interleave(sources, 50, 30)
	sent, total := map[string]int{}, 0
	for _, ld := range requests {
		for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
			key, ok := recordKey(lr)
			require.True(t, ok)
			sent[key]++
			total++
		}
	}
	require.Len(t, sent, total, "every event sent has its own key")
	// gateway-b's Sumo Logic endpoint is down while the events flow: its
	// otlp_http exporter must not wait for it.
	outage := gateways[1]
	outage.sumo.refuse.Store(true)
	start := time.Now()
	for _, ld := range requests {
		post(t, forwarder.url, ld)
	}

	// Every record out of a gateway's otlp_http exporter; late alerts come on top.
	deadline := time.Now().Add(tierWait)
	originals := func() int {
		n := 0
		for _, g := range gateways {
			for _, lr := range g.otlp.all() {
				if !isLateAlert(lr) {
					n++
				}
			}
		}
		return n
	}
	for originals() < total {
		for _, g := range gateways {
			require.False(t, g.col.Exited(), "%s exited", g.name)
		}
		require.True(t, time.Now().Before(deadline), "%d of %d records out of the gateways within %s", originals(), total, tierWait)
		time.Sleep(200 * time.Millisecond)
	}
	t.Logf("%d records (%d requests) through the tier in %s", total, len(requests), time.Since(start).Round(100*time.Millisecond))
	time.Sleep(4 * time.Second) // the gateways' batch timeout, twice: stragglers and duplicates
	assert.Positive(t, outage.sumo.refused.Load(), "%s: requests to Sumo refused", outage.name)
	assert.Zero(t, outage.sumo.count(), "%s: records accepted by Sumo during its outage", outage.name)
	// Sumo is back: its queue delivers what it held.
	outage.sumo.refuse.Store(false)
	deadline = time.Now().Add(tierWait)
	for _, g := range gateways {
		for g.sumo.count() < g.otlp.count() {
			require.True(t, time.Now().Before(deadline), "%s: %d of %d records at Sumo after its outage",
				g.name, g.sumo.count(), g.otlp.count())
			time.Sleep(200 * time.Millisecond)
		}
	}
	t.Logf("%s: Sumo refused %d requests during its outage, then took all %d records", outage.name, outage.sumo.refused.Load(), outage.sumo.count())

	after, state := tier.assignment()
	assert.Equal(t, "Stable", state)
	assert.Equal(t, before, after, "the group's assignment changed while the test ran")

	// Each host in one partition, named as dcomdetection keys it.
	partitions, topicMessages := tier.topicRecords(total)
	hostPartitions := map[string]map[int32]bool{}
	for p, rls := range partitions {
		for _, rl := range rls {
			name, ok := rl.Resource().Attributes().Get("host.name")
			require.True(t, ok, "partition %d: a resource without host.name", p)
			assert.Equal(t, 1, rl.Resource().Attributes().Len(), "the resource holds host.name only")
			if hostPartitions[name.Str()] == nil {
				hostPartitions[name.Str()] = map[int32]bool{}
			}
			hostPartitions[name.Str()][p] = true
			for _, lr := range rl.ScopeLogs().At(0).LogRecords().All() {
				key, ok := recordKey(lr)
				require.True(t, ok)
				computer, _, _ := strings.Cut(key, "|")
				assert.Equal(t, shortHost(computer), name.Str(), "host.name of %s", computer)
			}
		}
	}
	hostsPer := map[int32]int{}
	for host, ps := range hostPartitions {
		assert.Len(t, ps, 1, "host %s in partitions %v", host, ps)
		for p := range ps {
			hostsPer[p]++
		}
	}
	t.Logf("%d hosts over %d partitions: hosts per partition %v", len(hostPartitions), len(partitions), hostsPer)

	// Every record out of exactly one gateway; each host on one gateway.
	seen := map[string]int{}
	hostGateways := map[string]map[string]bool{}
	var outputs []plog.Logs
	for _, g := range gateways {
		require.NoError(t, g.otlp.bodyError)
		require.NoError(t, g.sumo.bodyError)
		assert.Equal(t, recordKeys(t, g.otlp.all()), recordKeys(t, g.sumo.all()), "%s: sumologic and otlp_http send the same records", g.name)
		hosts := map[string]bool{}
		for _, lr := range g.otlp.all() {
			if isLateAlert(lr) {
				continue
			}
			key, ok := recordKey(lr)
			require.True(t, ok)
			seen[key]++
			computer, _, _ := strings.Cut(key, "|")
			host := shortHost(computer)
			hosts[host] = true
			if hostGateways[host] == nil {
				hostGateways[host] = map[string]bool{}
			}
			hostGateways[host][g.name] = true
		}
		t.Logf("%s: %d records of %d hosts", g.name, g.otlp.count(), len(hosts))
		assert.NotEmpty(t, hosts, "%s processed no host", g.name)
		g.otlp.mu.Lock()
		outputs = append(outputs, g.otlp.batches...)
		g.otlp.mu.Unlock()
	}
	var missing, twice []string
	for key := range sent {
		switch seen[key] {
		case 1:
		case 0:
			missing = append(missing, key)
		default:
			twice = append(twice, key)
		}
	}
	sort.Strings(missing)
	sort.Strings(twice)
	assert.Empty(t, missing, "records that came out of no gateway")
	assert.Empty(t, twice, "records that came out more than once")
	assert.Len(t, seen, len(sent), "records that were not sent")
	for host, gs := range hostGateways {
		assert.Len(t, gs, 1, "host %s on gateways %v", host, gs)
	}

	// The streams' findings, each exactly once; nothing on the background.
	obs, patterns := streamtest.Observe(outputs)
	byStream := map[int][]streamtest.Observed{}
	count := map[string]int{}
	for _, o := range obs {
		count[fmt.Sprint(strings.ToLower(o.Host), o.EventID, o.RecordID, o.Feature)]++
		i, host, ok := streamHost(streams, o.Host)
		if !ok {
			t.Errorf("a finding on %s, not a stream's host", o.Host)
			continue
		}
		o.Host = host
		byStream[i] = append(byStream[i], o)
	}
	for key, n := range count {
		assert.Equal(t, 1, n, "finding %s produced %d times", key, n)
	}
	for key, p := range patterns {
		assert.False(t, strings.HasPrefix(key, "bg"), "background event %s flagged %s", key, p)
	}
	required := 0
	for i, s := range streams {
		rep := s.Check(byStream[i])
		for _, e := range rep.Errors {
			t.Errorf("%s: %s", s.Short(), e)
		}
		assert.Equal(t, rep.Required, rep.RequiredFound, "%s: required findings", s.Short())
		required += rep.Required
		t.Logf("%s: %s", s.Short(), rep)
	}
	assert.Positive(t, required)

	// What an operator watches, in the collectors' own metrics.
	names := map[string]bool{}
	inspected, lagSeries, held := 0.0, 0, 0.0
	for _, g := range gateways {
		series := collectortest.Scrape(t, g.metrics)
		for name := range series {
			names[strings.SplitN(name, "{", 2)[0]] = true
		}
		inspected += series["otelcol_processor_dcomdetection_records_inspected"]
		for labels, lag := range collectortest.SeriesOf(series, "otelcol_kafka_receiver_offset_lag") {
			assert.Zero(t, lag, "%s: offset lag %s once every record is out", g.name, labels)
			lagSeries++
		}
		held += series["otelcol_kafka_receiver_partition_start"] - series["otelcol_kafka_receiver_partition_close"]
	}
	assert.Equal(t, total, int(inspected), "records inspected by the gateways together")
	assert.Equal(t, tierPartitions, lagSeries, "an offset lag per partition")
	assert.Equal(t, tierPartitions, int(held), "partitions started less those closed")
	fseries := collectortest.Scrape(t, forwarder.metrics)
	for name := range fseries {
		names[strings.SplitN(name, "{", 2)[0]] = true
	}
	assert.Equal(t, total, int(fseries[`otelcol_exporter_sent_log_records{exporter="kafka"}`]), "records the forwarder produced")
	messages := collectortest.Sum(fseries, "otelcol_kafka_exporter_messages")
	assert.Equal(t, topicMessages, int(messages), "messages the forwarder produced")
	t.Logf("the forwarder produced %d events in %.0f messages (%.1f events per message), %.0f bytes of OTLP in %.0f bytes of zstd",
		total, messages, float64(total)/messages,
		collectortest.Sum(fseries, "otelcol_kafka_exporter_bytes_uncompressed"), collectortest.Sum(fseries, "otelcol_kafka_exporter_bytes"))

	// Every otelcol_kafka_* name the documentation gives is in these scrapes
	// (TestMetricsScrape checks the other names on config/demo.yaml).
	for name, files := range documentedMetrics(t) {
		if strings.HasPrefix(name, "otelcol_kafka_") {
			assert.True(t, names[name], "%s (%s) is not a metric of the tier's collectors", name, strings.Join(files, ", "))
		}
	}
}
