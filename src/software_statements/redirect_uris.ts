/** RFC 8252 section 7.3 "Loopback Interface Redirection": an IPv4 127.0.0.0/8 or IPv6 ::1 literal (not the name localhost, section 8.3). */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === '[::1]') return true
  const m = /^127\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(hostname)
  return Boolean(m && m.slice(1).every((o) => Number(o) <= 255))
}
