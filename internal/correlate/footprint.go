package correlate

import "unsafe"

// Footprint is the most heap a correlation state can hold, in bytes, by its
// caps and the bounds of the strings it keeps (fields.go). Its figures are
// upper bounds that footprint_test.go checks against measured heap growth
// with the longest strings at the caps.
type Footprint struct {
	// Entry is the most one entry costs (a logon wait with every string at
	// its bound: its slot with the ring's slack, its strings, and the
	// strings of the connection it names).
	Entry int64
	// Host is what a host costs before its entries (its state, key,
	// learned parents, the slack slots of its six tables, its logon
	// indexes, its place in the shard's map).
	Host int64
	// PerHost is one host with its six tables full (max_entries_per_host
	// each, within max_entries), the costliest entries first.
	PerHost int64
	// Total is max_hosts hosts and max_entries entries, each of the
	// costliest kind.
	Total int64
	// Copies is the record copies kept for late records, on top:
	// late_records_max_bytes, and their share of their entries' buffers'
	// slack (a quarter).
	Copies int64
	// Spares is the buffers of entries that left, kept by the lock shards
	// for the entries that come next, on top: maxSpareBytes per shard.
	Spares int64
}

// allocBytes bounds what the allocator hands out for n bytes: Go's size
// classes waste at most 12.5 % (plus a little for the smallest).
func allocBytes(n int64) int64 {
	if n == 0 {
		return 0
	}
	return n + n/8 + 16
}

// Bytes of the strings each kind of entry keeps, at their bounds.
const (
	recordRefStrings = 2 * maxStoredName // computer, channel
	processStrings   = recordRefStrings + 2*maxStoredPath + maxStoredCommandLine + 2*maxStoredName + 4*maxStoredID
	connStrings      = recordRefStrings + maxStoredPath + 3*maxStoredID
	logonStrings     = recordRefStrings + 5*maxStoredName + 2*maxStoredID
	exitStrings      = maxStoredID
	// A ring holds at most 4n+3 slots for n entries (ring.pop): four per
	// entry, three per table.
	slotsPerEntry = 4
	slackSlots    = 3
	// The logon indexes (two Go maps, rebuilt below a quarter of what they
	// were built for: at most 4n+3 entries for n logons) cost at most
	// twice their slots over the 7/8 load factor, control bytes included.
	indexSlotBytes  = int64(unsafe.Sizeof(uint64(0))+unsafe.Sizeof(uint64(0))) + int64(unsafe.Sizeof(logonEntry{}.addr)+unsafe.Sizeof(uint64(0))) + 2
	indexEntryBytes = (2 * indexSlotBytes * 8) / 7
	// A Go map's fixed part (header, directory, first table), per map.
	mapFixedBytes = 512
)

// entryCosts is what one entry of each table costs at most: its slots and
// its buffer (spareBytes of its strings; the share of a record copy in the
// buffer counts with Copies).
func entryCosts() [tableCount]int64 {
	var c [tableCount]int64
	c[tConns] = slotsPerEntry*int64(unsafe.Sizeof(slot[Conn]{})) + spareBytes(connStrings)
	c[tChildren] = slotsPerEntry*int64(unsafe.Sizeof(slot[childEntry]{})) + spareBytes(processStrings)
	c[tServers] = slotsPerEntry*int64(unsafe.Sizeof(slot[serverEntry]{})) + spareBytes(processStrings)
	c[tExits] = slotsPerEntry*int64(unsafe.Sizeof(slot[exitEntry]{})) + spareBytes(exitStrings)
	c[tLogons] = slotsPerEntry*int64(unsafe.Sizeof(slot[logonEntry]{})) + spareBytes(logonStrings) + slotsPerEntry*indexEntryBytes
	c[tWaits] = slotsPerEntry*int64(unsafe.Sizeof(slot[waitEntry]{})) + spareBytes(processStrings+connStrings)
	return c
}

// hostCost is a host's cost before its entries.
func hostCost() int64 {
	slack := slackSlots * int64(unsafe.Sizeof(slot[Conn]{})+unsafe.Sizeof(slot[childEntry]{})+unsafe.Sizeof(slot[serverEntry]{})+
		unsafe.Sizeof(slot[exitEntry]{})+unsafe.Sizeof(slot[logonEntry]{})+unsafe.Sizeof(slot[waitEntry]{}))
	state := allocBytes(int64(unsafe.Sizeof(hostState{})))
	key := allocBytes(maxHostKey) // the learned parents' GUIDs are inside the state
	// its place in the shard's map: key and pointer, twice over the load factor
	shardMap := (2 * int64(unsafe.Sizeof("")+unsafe.Sizeof(&hostState{})+1) * 8) / 7
	indexes := 2*mapFixedBytes + slackSlots*indexEntryBytes
	return state + key + slack + shardMap + indexes
}

// WorstCase computes the Footprint of a configuration (caps as New sets
// them: the record-copy budgets 0 mean their defaults).
func (c Config) WorstCase() Footprint {
	costs := entryCosts()
	f := Footprint{Host: hostCost()}
	for _, e := range costs {
		f.Entry = max(f.Entry, e)
	}
	// One host: the costliest tables first, each up to its cap, within
	// max_entries.
	left := int64(c.MaxEntries)
	f.PerHost = f.Host
	order := [tableCount]table{tWaits, tChildren, tServers, tLogons, tConns, tExits}
	for _, t := range order {
		n := min(int64(c.MaxEntriesPerHost), left)
		f.PerHost += n * costs[t]
		left -= n
	}
	f.Total = int64(c.MaxHosts)*f.Host + int64(c.MaxEntries)*f.Entry
	copies := int64(c.MaxOriginalBytes)
	if copies <= 0 {
		copies = DefaultMaxOriginalBytes
	}
	f.Copies = copies + copies/4
	shards := int64(c.Shards)
	if shards <= 0 {
		shards = defaultShards
	}
	f.Spares = shards * maxSpareBytes
	return f
}
