// The kind backend's pinned CLIs, without running any: the download plan (and a mirror), and how each
// tool's version is read from what it prints.
import test from 'ava';
import { toolDownloadPlan, TOOLS } from '../../harness/kind/tools.ts';

test.serial('the download plan lists the release URLs, rewritten for a mirror', (t) => {
  const saved = process.env.EGRESS_LAB_TOOLS_MIRROR;
  delete process.env.EGRESS_LAB_TOOLS_MIRROR;
  try {
    t.deepEqual(
      toolDownloadPlan({ cacheDir: '/c', arch: 'arm64' }).map((p) => [p.url, p.checksumUrl, p.target]),
      [
        [
          'https://kind.sigs.k8s.io/dl/v0.32.0/kind-linux-arm64',
          'https://kind.sigs.k8s.io/dl/v0.32.0/kind-linux-arm64.sha256sum',
          '/c/kind-v0.32.0/kind',
        ],
        [
          'https://dl.k8s.io/release/v1.36.1/bin/linux/arm64/kubectl',
          'https://dl.k8s.io/release/v1.36.1/bin/linux/arm64/kubectl.sha256',
          '/c/kubectl-v1.36.1/kubectl',
        ],
        [
          'https://github.com/istio/istio/releases/download/1.31.0/istioctl-1.31.0-linux-arm64.tar.gz',
          'https://github.com/istio/istio/releases/download/1.31.0/istioctl-1.31.0-linux-arm64.tar.gz.sha256',
          '/c/istioctl-1.31.0/istioctl',
        ],
      ],
    );
    process.env.EGRESS_LAB_TOOLS_MIRROR = 'https://mirror.example/tools/';
    t.is(
      toolDownloadPlan({ cacheDir: '/c', arch: 'amd64', names: ['kubectl'] })[0]!.url,
      'https://mirror.example/tools/release/v1.36.1/bin/linux/amd64/kubectl',
    );
    // An explicit override beats the environment.
    t.is(
      toolDownloadPlan({ cacheDir: '/c', arch: 'amd64', names: ['kind'], baseUrlOverride: 'http://127.0.0.1:9' })[0]!.checksumUrl,
      'http://127.0.0.1:9/dl/v0.32.0/kind-linux-amd64.sha256sum',
    );
  } finally {
    if (saved === undefined) delete process.env.EGRESS_LAB_TOOLS_MIRROR;
    else process.env.EGRESS_LAB_TOOLS_MIRROR = saved;
  }
});

test("each tool's version is read from what it really prints", (t) => {
  t.is(TOOLS.kind.parseVersion('kind v0.32.0 go1.24.4 linux/amd64\n'), 'v0.32.0');
  // kubectl on this machine (a gcloud build): not the pin, but readable.
  t.is(
    TOOLS.kubectl.parseVersion(
      '{\n  "clientVersion": {\n    "major": "1",\n    "minor": "32+",\n    "gitVersion": "v1.32.4-dispatcher"\n  },\n  "kustomizeVersion": "v5.5.0"\n}\n',
    ),
    'v1.32.4-dispatcher',
  );
  t.is(TOOLS.kubectl.parseVersion('error: unknown flag'), undefined);
  t.is(TOOLS.istioctl.parseVersion('client version: 1.31.0\n'), '1.31.0');
  t.is(TOOLS.istioctl.parseVersion('1.31.0\n'), '1.31.0');
});
