//go:build unix

package reliability

import (
	"net/netip"
	"syscall"
)

// reservePort binds a TCP socket to addr without listening on it: a
// connection to the port is refused, as to a closed one, but no other
// listener can take the port meanwhile (in a parallel test, one did, and
// answered the collector's retries with 404). release frees it.
func reservePort(addr string) (release func(), err error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM, 0)
	if err != nil {
		return nil, err
	}
	// The port was listening a moment ago: allow the bind past TIME_WAIT.
	if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_REUSEADDR, 1); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		_ = syscall.Close(fd)
		return nil, err
	}
	return func() { _ = syscall.Close(fd) }, nil
}
