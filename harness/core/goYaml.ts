/**
 * YAML for Go readers (istiod, lab-istiod, kubectl, Istio's annotation parsing): they read YAML 1.1
 * (sigs.k8s.io/yaml over go-yaml), where an unquoted yes, no, on, off or y is a boolean, while the
 * yaml library writes YAML 1.2, where those are strings. Written as YAML 1.1, every such string is
 * quoted, so a header match `exact: "yes"` reaches Istio as the string it is.
 */
import { stringify } from 'yaml';

export function toGoYaml(value: unknown): string {
  return stringify(value, { lineWidth: 0, version: '1.1' });
}
