/**
 * Who runs as whom in a pod. istio-iptables exempts the proxy's uid and gid (--proxy-uid,
 * --proxy-gid; tools/istio-iptables/pkg/cmd/root.go defaults them to 1337), so the proxy's own
 * connections leave without being redirected back to it, and captures everyone else's: the
 * application's, and the lab's probe agent, which runs as the application.
 */
export const PROXY_UID = 1337;
/** The application's uid and gid (and the probe agent's, and the kind client's runAsUser). */
export const APP_UID = 1000;
