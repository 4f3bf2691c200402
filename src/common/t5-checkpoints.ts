// Which T5 checkpoints answer in text. Span-corruption T5 (the original and T5 1.1 as released)
// was pre-trained to fill masked spans, so after a prompt it emits sentinels such as <extra_id_0>
// instead of a label; the paper tuned prompts on the LM-adapted T5 1.1 checkpoints for that reason.
// Flan-T5 is instruction-tuned and answers in text too. Nothing in config.json tells these apart,
// so the check goes by the checkpoint's name only.

/** Names of T5 checkpoints that answer in text: LM-adapted T5 1.1 and Flan-T5. */
const TEXT_T5_NAME = /lm-adapt|flan/i;
/** A T5 named by hub id or folder: t5, mt5 or umt5 as a whole word (t5-base, google/t5-v1_1-large). */
const T5_NAME = /(^|[^a-z0-9])(u?m)?t5([^a-z0-9]|$)/i;

export const T5_CHECKPOINT_ADVICE = 'span-corruption T5 checkpoints answer with sentinel tokens such as <extra_id_0> instead of text, which is why the paper tuned prompts on the LM-adapted T5 1.1 checkpoints: use google/t5-base-lm-adapt (or its small, large, xl or xxl size) or a Flan-T5 such as google/flan-t5-base';

/** True when no name of a T5 model says lm-adapt or flan (case aside): likely a span-corruption checkpoint. */
export function isSpanCorruptionT5(names: string[]): boolean {
  return !names.some((n) => TEXT_T5_NAME.test(n));
}

/** True when a hub id or folder name looks like a T5's, for where config.json cannot be read. */
export function looksLikeT5Name(name: string): boolean {
  return T5_NAME.test(name);
}
