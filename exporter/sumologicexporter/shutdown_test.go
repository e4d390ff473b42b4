package sumologicexporter

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumererror"
)

// acceptingServer answers 503 to the requests respond503 picks and 200 to
// the rest, and counts each line it accepted.
type acceptingServer struct {
	*sumoServer
	mu       sync.Mutex
	accepted map[string]int
}

func newAcceptingServer(t *testing.T, respond503 func(n int) bool) *acceptingServer {
	t.Helper()
	s := &acceptingServer{accepted: map[string]int{}}
	s.sumoServer = newSumoServer(t, func(n int, r sumoRequest) reply {
		if respond503(n) {
			return reply{status: 503}
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		for line := range strings.SplitSeq(string(r.Body), "\n") {
			s.accepted[line]++
		}
		return reply{status: 200}
	})
	return s
}

func (s *acceptingServer) acceptedCopy() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]int, len(s.accepted))
	for k, v := range s.accepted {
		out[k] = v
	}
	return out
}

// TestShutdownSendsEveryQueuedRecord: an in-memory queue holds a few hundred
// records and one consumer; the HTTP Source answers 503 to the first request
// and 200 after it. Whether the 503 comes before Shutdown (the request then
// waits for its retry, far longer than the test) or during it (the try began
// before Shutdown, its answer comes after; with a retry interval of 50 ms
// and of a minute), every record arrives exactly once, and Shutdown returns
// well within the deadline.
func TestShutdownSendsEveryQueuedRecord(t *testing.T) {
	for _, c := range []struct {
		name       string
		failDuring bool
		interval   time.Duration
	}{
		{"503 before shutdown", false, time.Minute},
		{"503 during shutdown", true, 50 * time.Millisecond},
		{"503 during shutdown, retry in a minute", true, time.Minute},
	} {
		failDuring := c.failDuring
		t.Run(c.name, func(t *testing.T) {
			// With failDuring, the first request waits for Shutdown to begin
			// before it is answered.
			shutdownBegun := make(chan struct{})
			srv := newAcceptingServer(t, func(n int) bool {
				if n == 0 && failDuring {
					<-shutdownBegun
				}
				return n == 0
			})
			cfg := testConfig(srv.endpoint(), TextFormat)
			cfg.BackOffConfig.InitialInterval = c.interval
			cfg.BackOffConfig.RandomizationFactor = 0
			cfg.ClientConfig.Timeout = 10 * time.Second // the shutdown deadline
			cfg.QueueSettings.GetOrInsertDefault().NumConsumers = 1
			exp := newFullExporter(t, cfg, nopSettings())

			var want []string
			for i := range 30 {
				var bodies []any
				for j := range 10 {
					bodies = append(bodies, fmt.Sprintf("rec-%02d-%d", i, j))
				}
				ld := newLogs(map[string]any{"batch": int64(i)}, bodies...)
				want = append(want, bodiesOf(ld)...)
				require.NoError(t, exp.ConsumeLogs(context.Background(), ld))
			}
			require.Eventually(t, func() bool { return len(srv.requests()) == 1 }, 5*time.Second, 5*time.Millisecond)
			if !failDuring {
				// The first request failed and waits a minute for its retry.
				require.Eventually(t, func() bool { return srv.requests()[0].Response == 503 }, 5*time.Second, 5*time.Millisecond)
			}

			start := time.Now()
			done := make(chan error, 1)
			go func() { done <- exp.Shutdown(context.Background()) }()
			if failDuring {
				time.Sleep(50 * time.Millisecond) // Shutdown has begun
				close(shutdownBegun)
			}
			select {
			case err := <-done:
				require.NoError(t, err)
			case <-time.After(20 * time.Second):
				t.Fatal("Shutdown did not return")
			}
			took := time.Since(start)

			accepted := srv.acceptedCopy()
			for _, w := range want {
				assert.Equal(t, 1, accepted[w], w)
			}
			assert.Len(t, accepted, len(want))
			assert.Less(t, took, 5*time.Second, "shutdown took %s", took)
			t.Logf("%d records in %d requests, all delivered; shutdown took %s", len(want), len(srv.requests()), took.Round(time.Millisecond))
		})
	}
}

// TestShutdownDeadlineEndsRetries: an endpoint that answers 503 forever.
// Shutdown keeps retrying until the deadline (the client timeout), then
// returns; nothing arrives and nothing hangs.
func TestShutdownDeadlineEndsRetries(t *testing.T) {
	srv := newAcceptingServer(t, func(int) bool { return true })
	cfg := testConfig(srv.endpoint(), TextFormat)
	fastRetry(cfg)
	cfg.BackOffConfig.MaxElapsedTime = 0
	cfg.ClientConfig.Timeout = 500 * time.Millisecond
	cfg.QueueSettings.GetOrInsertDefault().NumConsumers = 2
	exp := newFullExporter(t, cfg, nopSettings())
	for i := range 5 {
		require.NoError(t, exp.ConsumeLogs(context.Background(), newLogs(nil, strconv.Itoa(i))))
	}
	require.Eventually(t, func() bool { return len(srv.requests()) >= 2 }, 5*time.Second, 5*time.Millisecond)
	start := time.Now()
	require.NoError(t, exp.Shutdown(context.Background()))
	took := time.Since(start)
	assert.Less(t, took, 2*time.Second)
	assert.GreaterOrEqual(t, took, 400*time.Millisecond, "retries went on until the deadline")
	assert.Empty(t, srv.acceptedCopy())
}

// TestRetryHonoursRetryAfter: a 503 with Retry-After: 1 is retried no
// earlier than a second later, and only the failed request is sent again.
func TestRetryHonoursRetryAfter(t *testing.T) {
	var mu sync.Mutex
	var at []time.Time
	srv := newSumoServer(t, func(n int, _ sumoRequest) reply {
		mu.Lock()
		at = append(at, time.Now())
		mu.Unlock()
		if n == 0 {
			return reply{status: 503, header: map[string]string{"Retry-After": "1"}}
		}
		return reply{status: 200}
	})
	cfg := testConfig(srv.endpoint(), TextFormat)
	fastRetry(cfg)
	e := startExporter(t, cfg, nopSettings())
	require.NoError(t, e.pushLogsRetrying(context.Background(), newLogs(nil, "a", "b")))
	require.Len(t, srv.requests(), 2)
	assert.Equal(t, "a\nb", string(srv.requests()[1].Body))
	mu.Lock()
	defer mu.Unlock()
	assert.GreaterOrEqual(t, at[1].Sub(at[0]), time.Second)
}

// TestRetryGivesUpAfterMaxElapsedTime: outside a shutdown, retrying ends
// with a permanent error once max_elapsed_time would be passed.
func TestRetryGivesUpAfterMaxElapsedTime(t *testing.T) {
	srv := newAcceptingServer(t, func(int) bool { return true })
	cfg := testConfig(srv.endpoint(), TextFormat)
	fastRetry(cfg)
	cfg.BackOffConfig.MaxElapsedTime = 300 * time.Millisecond
	e := startExporter(t, cfg, nopSettings())
	start := time.Now()
	err := e.pushLogsRetrying(context.Background(), newLogs(nil, "a"))
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "%v", err)
	assert.Contains(t, err.Error(), "no more retries left")
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Greater(t, len(srv.requests()), 3, "retried with the backoff")
}

// TestRetryDisabled: with retry_on_failure off, one try.
func TestRetryDisabled(t *testing.T) {
	srv := newAcceptingServer(t, func(int) bool { return true })
	cfg := testConfig(srv.endpoint(), TextFormat)
	cfg.BackOffConfig.Enabled = false
	e := startExporter(t, cfg, nopSettings())
	err := e.pushLogsRetrying(context.Background(), newLogs(nil, "a"))
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err))
	assert.Len(t, srv.requests(), 1)
}

func TestBackoff(t *testing.T) {
	cfg := testConfig("http://127.0.0.1:1/", TextFormat).BackOffConfig
	cfg.InitialInterval, cfg.MaxInterval, cfg.Multiplier, cfg.RandomizationFactor = 100*time.Millisecond, 250*time.Millisecond, 2, 0
	b := newBackoff(cfg)
	var got []time.Duration
	for range 4 {
		got = append(got, b.next())
	}
	assert.Equal(t, []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 250 * time.Millisecond, 250 * time.Millisecond}, got)
	cfg.RandomizationFactor = 0.5
	b = newBackoff(cfg)
	for range 100 {
		d := b.next()
		assert.GreaterOrEqual(t, d, 50*time.Millisecond)
		assert.LessOrEqual(t, d, 375*time.Millisecond)
	}
}
