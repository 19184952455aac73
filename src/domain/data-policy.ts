// Which data a layer may seed from: the rules of the data plane, as a pure decision. The seed
// activity applies it before a single row moves; its answer (allowed or refused, with the rule) is
// in the activity's result or failure, so the workflow history — the audit trail — records it.

import type { LayerSpec } from './ladder';

export const DATA_POLICY_RULES = {
  /** Only a layer that declares `allowSanitizedProduction: true` may read a production source. */
  productionNeedsAllowance: 'production-requires-allowSanitizedProduction',
  /** Even then, production rows only reach the environment through a masking policy. */
  productionOnlySanitized: 'production-only-through-sanitize',
  /** A masked or production file is copied through a policy that types (keeps, masks) every column. */
  fileNeedsPolicy: 'file-source-requires-policy',
  /** Rows are generated from a stats-only profile. */
  synthetic: 'synthetic-from-profile',
  maskedThroughPolicy: 'masked-through-policy',
  productionSanitized: 'production-sanitized',
} as const;

export type DataPolicyDecision = {
  allowed: boolean;
  rule: string;
  /** One line naming the rule, the layer and the source. */
  message: string;
};

/** The data policy's decision for the layer's `data:`; undefined when the layer has none. */
export function decideDataPolicy(layer: LayerSpec): DataPolicyDecision | undefined {
  const data = layer.data;
  if (!data) return undefined;
  const { source } = data;
  const what = `source "${source.name}" (${source.classification})`;
  const refuse = (rule: string, why: string): DataPolicyDecision => ({
    allowed: false,
    rule,
    message: `data policy ${rule}: layer "${layer.name}" may not seed from ${what}: ${why}`,
  });
  const allow = (rule: string, how: string): DataPolicyDecision => ({
    allowed: true,
    rule,
    message: `data policy ${rule}: layer "${layer.name}" seeds from ${what} ${how}`,
  });
  switch (source.classification) {
    case 'production':
      if (layer.allowSanitizedProduction !== true) {
        return refuse(
          DATA_POLICY_RULES.productionNeedsAllowance,
          'only a layer that declares `allowSanitizedProduction: true` may read production data',
        );
      }
      if (!data.policy)
        return refuse(
          DATA_POLICY_RULES.productionOnlySanitized,
          'production rows reach an environment only through sanitize; set `data.policy` to a masking policy',
        );
      return allow(DATA_POLICY_RULES.productionSanitized, `through the masking policy ${data.policy}`);
    case 'masked':
      if (!data.policy)
        return refuse(
          DATA_POLICY_RULES.fileNeedsPolicy,
          'set `data.policy` to a masking policy that keeps (with a type) or masks every column',
        );
      return allow(DATA_POLICY_RULES.maskedThroughPolicy, `through the masking policy ${data.policy}`);
    case 'synthetic':
      return allow(
        DATA_POLICY_RULES.synthetic,
        data.policy
          ? `generated from its profile, then through the masking policy ${data.policy}`
          : 'generated from its profile',
      );
  }
}
