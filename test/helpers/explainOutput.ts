/** One call and lab-istiod explain's JSON answer to it (seed 002's external MySQL), for the explain parser and text tests. */

export const call = { address: '10.10.13.110', port: 3306, protocol: 'tcp' as const, tls: false };
export const output = {
  dump: {
    node: 'sidecar~172.20.0.31~mysql-client.demo1~demo1.svc.cluster.local',
    istioVersion: '1.6',
    listeners: 3,
    clusters: 4,
    routes: 0,
    renamed: ['envoy.tcp_proxy -> envoy.filters.network.tcp_proxy'],
  },
  results: [
    {
      listener: '0.0.0.0_3306',
      cluster: 'outbound|3306||mysql.demo',
      listenerBy: 'no listener has 10.10.13.110:3306, and 0.0.0.0:3306 takes every other address on the port',
      clusterType: 'STRICT_DNS',
      endpoints: ['mysql.demo:3306'],
      clusterInDump: true,
    },
  ],
};
