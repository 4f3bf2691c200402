// The text metrics against their reference implementations' own outputs (never against values
// this code produced), the metrics table and its intervals, and the promptfoo assertions.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InputError } from '../src/common/errors.js';
import { checkAssertion, checkAssertions, examplePassRate, passRate, splitCommas, validateAssertion } from '../src/common/assertions.js';
import { bootstrapMean } from '../src/common/intervals.js';
import type { AssertionResult, AssertionSpec } from '../src/common/run-files.js';
import { chrF, exactMatch, METRIC_TITLES, metricInfo, normalizeAnswer, rougeL, scoreText, TEXT_METRIC_NAMES, TEXT_METRICS, textMetric, tokenF1 } from '../src/common/text-metrics.js';
import { wilsonInterval } from '../src/tuning/evaluate/metrics.js';

const close = (actual: number, expected: number, tolerance: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what}: ${actual}, expected ${expected} (within ${tolerance})`);

/**
 * [output, target, exact match, F1] from the official SQuAD v1.1 evaluation script
 * (evaluate-v1.1.py; the copy in huggingface/evaluate metrics/squad/compute_score.py, whose
 * normalize_answer, f1_score and exact_match_score are the same), run with Python 3.11:
 * `int(exact_match_score(o, t)), f1_score(o, t)` for each pair. The pairs probe articles,
 * punctuation, case, Unicode word boundaries (Python's \b knows non-ASCII letters), Python's
 * whitespace (\x1c-\x1f and \x85 split, \ufeff does not), empty texts and repeated tokens.
 */
const SQUAD: [string, string, number, number][] = [
  ["The Eiffel Tower", "eiffel tower", 1, 1.0],
  ["Paris.", "paris", 1, 1.0],
  ["an apple a day", "apple day", 1, 1.0],
  ["theater", "the ater", 0, 0.0],
  ["A", "", 1, 0.0],
  ["", "", 1, 0.0],
  ["cat cat cat", "cat", 0, 0.5],
  ["cat cat", "cat cat dog", 0, 0.8],
  ["the cat sat on the mat", "a cat sat on a mat", 1, 1.0],
  ["Caf\u00e9 au lait", "cafe au lait", 0, 0.6666666666666666],
  ["New York-City", "new yorkcity", 1, 1.0],
  ["U.S.A.", "USA", 1, 1.0],
  ["\u00e9the cat", "\u00e9 cat", 0, 0.5],
  ["the\u0301 cat", "cat", 0, 0.6666666666666666],
  ["one\u00a0two", "one two", 1, 1.0],
  ["one\u001ftwo", "one two", 1, 1.0],
  ["one\u0085two", "one two", 1, 1.0],
  ["\ufeffone", "one", 0, 0.0],
  ["42 apples", "forty-two apples", 0, 0.5],
  ["\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2", 1, 1.0],
  ["the quick brown fox jumps over the lazy dog", "a quick brown dog jumps over lazy fox", 0, 1.0],
  ["Anne", "an ne", 0, 0.0],
  ["\u0130stanbul", "istanbul", 0, 0.0],
  ["the_end", "end", 0, 0.0],
  ["\ud83d\udc4d yes!", "yes", 0, 0.6666666666666666],
  ["\u00abquoted\u00bb \u2014 dash", "quoted dash", 0, 0.4],
];

/**
 * [output (hypothesis), target (reference), score 0-100] from sacrebleu 2.6.0's CHRF() with its
 * defaults (char_order 6, word_order 0, beta 2, whitespace removed, effective order), run from the
 * mjpost/sacrebleu sources with Python 3.11: `CHRF().sentence_score(o, [t]).score`.
 */
const CHRF_DEFAULTS: [string, string, number][] = [
  ["The Eiffel Tower", "eiffel tower", 42.06998276649039],
  ["Paris.", "paris", 51.31934032983507],
  ["an apple a day", "apple day", 48.38492065911834],
  ["theater", "the ater", 100.0],
  ["A", "", 0.0],
  ["", "", 0.0],
  ["cat cat cat", "cat", 61.49193548387096],
  ["cat cat", "cat cat dog", 55.77101053281037],
  ["the cat sat on the mat", "a cat sat on a mat", 55.11170308673565],
  ["Caf\u00e9 au lait", "cafe au lait", 48.80952380952381],
  ["New York-City", "new yorkcity", 23.69805752136635],
  ["U.S.A.", "USA", 27.777777777777775],
  ["\u00e9the cat", "\u00e9 cat", 45.43263436972764],
  ["the\u0301 cat", "cat", 70.23643949930458],
  ["one\u00a0two", "one two", 100.0],
  ["one\u001ftwo", "one two", 100.0],
  ["one\u0085two", "one two", 100.0],
  ["\ufeffone", "one", 89.84375],
  ["42 apples", "forty-two apples", 29.913596303096075],
  ["\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2", 0.0],
  ["the quick brown fox jumps over the lazy dog", "a quick brown dog jumps over lazy fox", 60.73784121761802],
  ["Anne", "an ne", 47.91666666666667],
  ["\u0130stanbul", "istanbul", 79.70238095238096],
  ["the_end", "end", 70.23643949930458],
  ["\ud83d\udc4d yes!", "yes", 82.06106870229006],
  ["\u00abquoted\u00bb \u2014 dash", "quoted dash", 58.073324542420494],
  ["The cat sat on the mat", "The cat is on the mat", 64.5779420625287],
  ["Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.", "Das Verh\u00e4ltnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.", 64.818123726097],
  ["a", "a", 100.0],
  ["ab", "abc", 63.636363636363626],
  ["abc", "ab", 87.49999999999999],
  ["aa", "ab", 25.0],
  ["", "reference", 0.0],
  ["hypothesis", "", 0.0],
  ["colour", "color", 55.16921650440426],
  ["\u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8", "\u65e5\u672c\u8a9e\u30c6\u30ad\u30b9\u30c8", 43.23387961659629],
  ["x \ud83d\ude00 y", "x\ud83d\ude00y", 100.0],
];

/**
 * [output (prediction), target, F-measure] from rouge-score's RougeScorer(['rougeL'],
 * use_stemmer=False) (google-research/google-research rouge/: rouge_scorer.py, tokenize.py,
 * scoring.py), run with Python 3.11: `scorer.score(t, o)['rougeL'].fmeasure`.
 */
const ROUGE_L: [string, string, number][] = [
  ["The Eiffel Tower", "eiffel tower", 0.8],
  ["Paris.", "paris", 1.0],
  ["an apple a day", "apple day", 0.6666666666666666],
  ["theater", "the ater", 0.0],
  ["A", "", 0.0],
  ["", "", 0.0],
  ["cat cat cat", "cat", 0.5],
  ["cat cat", "cat cat dog", 0.8],
  ["the cat sat on the mat", "a cat sat on a mat", 0.6666666666666666],
  ["Caf\u00e9 au lait", "cafe au lait", 0.6666666666666666],
  ["New York-City", "new yorkcity", 0.4],
  ["U.S.A.", "USA", 0.0],
  ["\u00e9the cat", "\u00e9 cat", 0.6666666666666666],
  ["the\u0301 cat", "cat", 0.6666666666666666],
  ["one\u00a0two", "one two", 1.0],
  ["one\u001ftwo", "one two", 1.0],
  ["one\u0085two", "one two", 1.0],
  ["\ufeffone", "one", 1.0],
  ["42 apples", "forty-two apples", 0.4],
  ["\u039f\u0394\u039f\u03a3", "\u03bf\u03b4\u03bf\u03c2", 0.0],
  ["the quick brown fox jumps over the lazy dog", "a quick brown dog jumps over lazy fox", 0.5882352941176471],
  ["Anne", "an ne", 0.0],
  ["\u0130stanbul", "istanbul", 0.0],
  ["the_end", "end", 0.6666666666666666],
  ["\ud83d\udc4d yes!", "yes", 1.0],
  ["\u00abquoted\u00bb \u2014 dash", "quoted dash", 1.0],
  ["testing one", "testing one two", 0.8],
  ["testing two", "testing one two", 0.8],
  ["", "testing one two", 0.0],
  ["The quick brown dog jumps on the log.", "The quick brown fox jumps over the lazy dog", 0.5882352941176471],
  ["x-ray_2 vision", "X ray 2 vision", 1.0],
  ["na\u00efve caf\u00e9", "naive cafe", 0.0],
  ["one two three four", "four three two one", 0.25],
];

describe('SQuAD exact match and token F1', () => {
  it('match the official v1.1 script on every pair', () => {
    for (const [output, target, em, f1] of SQUAD) {
      assert.equal(exactMatch(output, target), em, `exact match of ${JSON.stringify(output)} and ${JSON.stringify(target)}`);
      close(tokenF1(output, target), f1, 1e-15, `F1 of ${JSON.stringify(output)} and ${JSON.stringify(target)}`);
    }
  });

  it('normalize as normalize_answer does', () => {
    // the normalized forms printed by the same script
    assert.equal(normalizeAnswer('the cat sat on the mat'), 'cat sat on mat');
    assert.equal(normalizeAnswer('the\u0301 cat'), '\u0301 cat');
    assert.equal(normalizeAnswer('\u00e9the cat'), '\u00e9the cat');
    assert.equal(normalizeAnswer('the_end'), 'theend');
    assert.equal(normalizeAnswer('\u0130stanbul'), 'i\u0307stanbul');
  });
});

describe('chrF', () => {
  it('matches sacrebleu 2.x with its defaults on every pair (0-1 here, 0-100 there)', () => {
    for (const [output, target, score] of CHRF_DEFAULTS) close(chrF(output, target), score / 100, 1e-12, `chrF of ${JSON.stringify(output)} and ${JSON.stringify(target)}`);
  });

  // sacrebleu's own test/test_chrf.py: its expected scores, to its tolerance (EPSILON = 1e-4 on 0-100)
  it('gives test_chrf.py\'s sentence-level scores (beta 2, epsilon smoothing)', () => {
    const cases: [string, string, number][] = [
      ['Co nás nejvíc trápí, protože lékaři si vybírají, kdo bude žít a kdo zemře.', 'Nejvíce smutní jsme z toho, že musíme rozhodovat o tom, kdo bude žít a kdo zemře.', 39.14078509],
      ['Nebo prostě nemají vybavení, které by jim pomohlo, uvedli lékaři.', 'A někdy nemáme ani potřebný materiál, abychom jim pomohli, popsali lékaři.', 31.22557079],
      ['Lapali po dechu, jejich životy skončily dřív, než skutečně začaly.', 'Lapali po dechu a pak jejich život skončil - dřív, než skutečně mohl začít, připomněli.', 57.15704367],
    ];
    for (const [o, t, s] of cases) close(100 * chrF(o, t, { epsSmoothing: true }), s, 1e-4, o);
  });

  it('gives test_chrf.py\'s one-sentence scores with beta 3, with and without epsilon smoothing, and keeping whitespace', () => {
    const eps: [string, string, number][] = [
      ['abcdefg', 'hijklmnop', 0], ['a', 'b', 0], ['', 'b', 0], ['', 'ref', 0], ['', 'reference', 0], ['aa', 'ab', 8.3333], ['a', 'a', 16.6667],
      ['a b c', 'a b c', 50], ['a b c', 'abc', 50],
      [' risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .', 'risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .', 63.36173],
      [' Die    Beziehung zwischen  Obama und Netanjahu ist nicht gerade  freundlich. ', 'Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.', 64.1302698],
      ['Niemand hat die Absicht, eine Mauer zu errichten', 'Niemand hat die Absicht, eine Mauer zu errichten', 100],
    ];
    for (const [o, t, s] of eps) close(100 * chrF(o, t, { beta: 3, epsSmoothing: true }), s, 1e-4, `eps ${o}`);
    const effective: [string, string, number][] = [['a', 'a', 100], ['', 'reference', 0], ['a b c', 'a b c', 100], ['a b c', 'abc', 100], ['', 'c', 0], ['aa', 'ab', 25]];
    for (const [o, t, s] of effective) close(100 * chrF(o, t, { beta: 3 }), s, 1e-4, `effective order ${o}`);
    const whitespace: [string, string, number][] = [
      ['Die Beziehung zwischen Obama und Netanjahu ist nicht gerade freundlich.', 'Das Verhältnis zwischen Obama und Netanyahu ist nicht gerade freundschaftlich.', 67.3481606],
      ['risk assessment must be made of those who are qualified and expertise in the sector - these are the scientists .', 'risk assessment has to be undertaken by those who are qualified and expert in that area - that is the scientists .', 65.2414427],
    ];
    for (const [o, t, s] of whitespace) close(100 * chrF(o, t, { beta: 3, whitespace: true }), s, 1e-4, `whitespace ${o}`);
  });
});

describe('ROUGE-L', () => {
  it('matches rouge-score on every pair', () => {
    for (const [output, target, f] of ROUGE_L) close(rougeL(output, target), f, 1e-15, `ROUGE-L of ${JSON.stringify(output)} and ${JSON.stringify(target)}`);
  });

  // rouge_scorer_test.py's expected values: scorer.score(target, prediction)
  it('gives rouge_scorer_test.py\'s values, ROUGE-1.5.5\'s on its test data included', () => {
    close(rougeL('testing one', 'testing one two'), 4 / 5, 1e-7, 'consecutive');
    close(rougeL('testing two', 'testing one two'), 4 / 5, 1e-7, 'non-consecutive');
    assert.equal(rougeL('', 'testing one two'), 0);
    // rouge/testdata/target.txt and prediction.txt, first two lines; ROUGE-1.5.5's F-measures 0.51163 and 0.50000 (5 places)
    const targets = [
      "ZfbCUIUuePaiLVUlCaUXxkpu XPeWing tUHfPMuZ',-Xd Y BrUgVJing M-HV.-DgdDaY.rFDJCRing Ht-LM EKBDXkME,yz'RBr q'wtion wIojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxer tKM L\n",
      "KsJdPByEtAor fE-Qg Dpdbring cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMtion psing sbKao Q m qiing LMmer HqqLFXe,XPY,J XsurkMer ,ed nB'wH'bWVHjWFEing tQ.saefZwJtKrTlixYpMMsJing UCAPwNHeYVjDing c T BUySKtion gMPfJpwGw p'NvxAoping eu pBwMBKV'I DNxqelhu,PHPxDEq,mtion SN\n",
    ];
    const predictions = [
      "rFDJCRtion Ht-LM EKtDXkME,yz'RBr q'wer wrojNbN wL,b .a-'XdQggyFl jB-RPP'iyOIcUxi\n",
      "n cw-WeFyu vC MoBL Xdn g wkvcEiGvKtion BDFhrpMer pstion sbKao Q m qier LMmed HqqLFXe,XPY,J XsurkMeo ,ed nB'wH'bWVHjWFEer tQ.saefZwJtKrTlixYpMMNJtion UCAPwNHeYVjD\n",
    ];
    close(rougeL(predictions[0], targets[0]), 0.51163, 5e-6, 'ROUGE-1.5.5 line 1');
    close(rougeL(predictions[1], targets[1]), 0.5, 5e-6, 'ROUGE-1.5.5 line 2');
  });
});

describe('the metrics table', () => {
  it('lists the four text metrics, looks each up by name, and scores them all at once', () => {
    assert.deepEqual(TEXT_METRIC_NAMES, ['exactMatch', 'tokenF1', 'chrF', 'rougeL']);
    assert.deepEqual(TEXT_METRICS.map((m) => m.title), ['exact match', 'token F1', 'chrF', 'ROUGE-L']);
    assert.ok(TEXT_METRICS.every((m) => m.higherIsBetter && m.description.length > 0));
    assert.equal(textMetric('rougeL').perExample('testing one', 'testing one two'), rougeL('testing one', 'testing one two'));
    assert.throws(() => textMetric('bleu' as never), RangeError);
    const scores = scoreText('The cat sat on the mat', 'The cat is on the mat');
    assert.deepEqual(Object.keys(scores), ['exactMatch', 'tokenF1', 'chrF', 'rougeL']);
    assert.equal(scores.exactMatch, 0);
    for (const name of TEXT_METRIC_NAMES) assert.ok(scores[name] >= 0 && scores[name] <= 1, name);
  });

  it('describes NLL (lower is better) and the pass rate for headers', () => {
    assert.deepEqual(metricInfo('nll'), { name: 'nll', title: 'NLL/token', higherIsBetter: false, description: metricInfo('nll').description });
    assert.equal(metricInfo('passRate').title, 'pass rate');
    assert.equal(metricInfo('passRate').higherIsBetter, true);
    assert.equal(metricInfo('chrF').higherIsBetter, true);
    assert.deepEqual(METRIC_TITLES, { exactMatch: 'exact match', tokenF1: 'token F1', chrF: 'chrF', rougeL: 'ROUGE-L', nll: 'NLL/token', passRate: 'pass rate' });
  });
});

describe('aggregates and their intervals', () => {
  it('exact match: the mean of 0/1 values with the Wilson interval evaluation gives accuracy', () => {
    const values = [1, 0, 1, 1, 0, 1, 1, 1, 1, 0];
    assert.deepEqual(textMetric('exactMatch').aggregate(values), { value: 0.7, interval: wilsonInterval(7, 10) });
    const [low, high] = textMetric('exactMatch').aggregate([...Array(95).fill(1), ...Array(5).fill(0)]).interval;
    // 95/100: [0.888250, 0.978456] (the hand-computed interval of tuning-units.test.ts)
    close(low, 0.88825, 1e-6, 'low');
    close(high, 0.978456, 1e-6, 'high');
    assert.throws(() => textMetric('exactMatch').aggregate([]), RangeError);
  });

  it('the others: the mean with a seeded bootstrap interval that contains it, the same on every call', () => {
    const values = Array.from({ length: 60 }, (_, i) => ((i * 37) % 101) / 100);
    const mean = values.reduce((s, v) => s + v, 0) / values.length;
    for (const name of ['tokenF1', 'chrF', 'rougeL'] as const) {
      const a = textMetric(name).aggregate(values);
      assert.equal(a.value, mean);
      assert.ok(a.interval[0] < mean && mean < a.interval[1], `${name}: ${a.interval} around ${mean}`);
      assert.ok(a.interval[0] >= 0 && a.interval[1] <= 1);
      assert.deepEqual(textMetric(name).aggregate(values), a);
    }
    // a different seed gives a different, similar interval
    const other = bootstrapMean(values, { seed: 2 }).interval;
    assert.notDeepEqual(other, textMetric('chrF').aggregate(values).interval);
    close(other[0], textMetric('chrF').aggregate(values).interval[0], 0.03, 'seed 2 low');
  });

  it('constant values give the single point [v, v]', () => {
    for (const v of [0, 0.1, 0.37, 1]) assert.deepEqual(textMetric('tokenF1').aggregate(Array(25).fill(v)), { value: v, interval: [v, v] });
    assert.deepEqual(textMetric('rougeL').aggregate([0.4]), { value: 0.4, interval: [0.4, 0.4] });
  });
});

describe('assertions', () => {
  const fields = { city: 'Paris', country: 'France', options: 'red, "green, light", blue', n: 3 };
  type Row = [spec: AssertionSpec, output: string, pass: boolean, value: AssertionResult['value'], reason?: string];
  const rows: Row[] = [
    [{ type: 'equals', value: 'Paris' }, 'Paris', true, 'Paris'],
    [{ type: 'equals', value: '{city}' }, 'Paris.', false, 'Paris', 'is not "Paris"'],
    [{ type: 'contains', value: '{city}' }, 'The capital is Paris.', true, 'Paris'],
    [{ type: 'contains', value: '{city}' }, 'The capital is paris.', false, 'Paris', 'does not contain "Paris"'],
    [{ type: 'icontains', value: '{city}' }, 'THE CAPITAL IS PARIS.', true, 'Paris'],
    [{ type: 'icontains', value: '{country}' }, 'Paris', false, 'France', 'does not contain "France" (in any case)'],
    [{ type: 'contains-any', value: ['{city}', 'Lyon'] }, 'Lyon, of course', true, ['Paris', 'Lyon']],
    [{ type: 'contains-any', value: 'Rome, Berlin' }, 'Paris', false, ['Rome', 'Berlin'], 'contains none of "Rome", "Berlin"'],
    [{ type: 'contains-any', value: 'Rome, berlin' }, 'Berlin', false, ['Rome', 'berlin'], 'contains none of "Rome", "berlin"'],
    [{ type: 'contains-any', value: '{options}' }, 'green, light', true, ['red', 'green, light', 'blue']],
    [{ type: 'regex', value: '^\\d{3}-{city}$' }, '123-Paris', true, '^\\d{3}-Paris$'],
    [{ type: 'regex', value: '^\\d{{2,}}$' }, 'x12', false, '^\\d{2,}$', 'does not match /^\\d{2,}$/'],
    [{ type: 'regex', value: 'paris' }, 'Paris', false, 'paris', 'does not match /paris/'],
    [{ type: 'starts-with', value: '{city}' }, 'Paris is the capital', true, 'Paris'],
    [{ type: 'starts-with', value: '{city}' }, ' Paris', false, 'Paris', 'does not start with "Paris"'],
    [{ type: 'is-json' }, '{"city": "Paris"}', true, undefined],
    [{ type: 'is-json' }, '{city: Paris}', false, undefined],
    [{ type: 'is-json', value: { type: 'object', required: ['city'], properties: { city: { type: 'string' } } } }, '{"city": "Paris"}', true, { type: 'object', required: ['city'], properties: { city: { type: 'string' } } }],
    [{ type: 'is-json', value: { type: 'object', required: ['city'] } }, '{"town": "Paris"}', false, { type: 'object', required: ['city'] }, "JSON that does not fit the schema: output must have required property 'city'"],
    [{ type: 'levenshtein', value: '{city}' }, 'Pariss', true, 'Paris'],
    [{ type: 'levenshtein', value: 'kitten', threshold: 2 }, 'sitting', false, 'kitten', 'distance 3 > 2'],
    [{ type: 'levenshtein', value: 'Paris' }, 'Paris, France', false, 'Paris', 'distance 8 > 5'],
    [{ type: 'levenshtein', value: 'Paris', threshold: 0 }, 'Paris', true, 'Paris'],
  ];

  it('checks every type, pass and fail, with templated values and a short reason on a fail', () => {
    for (const [spec, output, pass, value, reason] of rows) {
      const r = checkAssertion(spec, output, fields);
      const what = `${JSON.stringify(spec)} on ${JSON.stringify(output)}`;
      assert.equal(r.pass, pass, what);
      assert.equal(r.type, spec.type);
      assert.deepEqual(r.value, value, what);
      if (pass) assert.equal(r.reason, undefined, what);
      else assert.ok(r.reason, what);
      if (reason !== undefined) assert.equal(r.reason, reason, what);
    }
    assert.match(checkAssertion({ type: 'is-json' }, '{city: Paris}', {}).reason ?? '', /^not JSON: /);
  });

  it('a field the record lacks is an input error naming it', () => {
    assert.throws(() => checkAssertion({ type: 'contains', value: '{capital}' }, 'Paris', fields, { file: 'data.jsonl', line: 4 }),
      (e: Error) => e instanceof InputError && e.message.startsWith('data.jsonl:4: field "capital" is missing (the contains assertion uses it)'));
  });

  it('a regex that compiles only for the record fails with the reason, not an exception', () => {
    const r = checkAssertion({ type: 'regex', value: '{country}' }, 'France', { country: 'Fr(ance' });
    assert.equal(r.pass, false);
    assert.match(r.reason ?? '', /^the regex does not compile: /);
  });

  it('checks a list in order, and pools the pass rate over every check with an interval', () => {
    const results = checkAssertions([{ type: 'contains', value: '{city}' }, { type: 'is-json' }], 'Paris', fields);
    assert.deepEqual(results.map((r) => r.pass), [true, false]);
    assert.equal(examplePassRate(results), 0.5);
    assert.equal(examplePassRate([]), null);
    const pass = (p: boolean): AssertionResult => ({ type: 'contains', pass: p });
    // 6 of 9 checks pass: pooled over checks, not averaged over examples (which gives 0.722...)
    const examples = [[pass(true), pass(true), pass(true)], [pass(false)], [pass(true), pass(false)], [], [pass(true), pass(true), pass(false)]];
    const rate = passRate(examples);
    assert.equal(rate?.value, 6 / 9);
    assert.ok(rate && rate.interval[0] < 6 / 9 && 6 / 9 < rate.interval[1], String(rate?.interval));
    assert.deepEqual(passRate(examples), rate);
    assert.deepEqual(passRate([[pass(true)], [pass(true), pass(true)]]), { value: 1, interval: [1, 1] });
    assert.equal(passRate([[], []]), null);
  });

  it('validateAssertion reports bad values for the spec checker', () => {
    const bad: [AssertionSpec, RegExp][] = [
      [{ type: 'contains' }, /"contains" needs a value/],
      [{ type: 'equals', value: '' }, /"equals" needs a value/],
      [{ type: 'regex', value: '([a-z]' }, /^the regex does not compile: .*Unterminated group/],
      [{ type: 'regex', value: '{city}(' }, /^the regex does not compile/],
      [{ type: 'contains-any' }, /"contains-any" needs a value/],
      [{ type: 'contains-any', value: [] }, /"contains-any" needs at least one text/],
      [{ type: 'contains-any', value: ' , ,' }, /"contains-any" needs at least one text/],
      [{ type: 'contains-any', value: '"open, quote' }, /a quoted text is not closed/],
      [{ type: 'levenshtein', value: 'Paris', threshold: -1 }, /"threshold" must be a number of at least 0/],
      [{ type: 'contains', value: ['a', 'b'] }, /"contains" takes one text as its value/],
      [{ type: 'is-json', value: 'object' }, /"is-json" takes a JSON Schema object/],
      [{ type: 'is-json', value: { type: 'no-such-type' } }, /^the JSON Schema in "value" does not compile/],
    ];
    for (const [spec, message] of bad) assert.match(validateAssertion(spec) ?? '(null)', message, JSON.stringify(spec));
    const good: AssertionSpec[] = [
      { type: 'regex', value: '^\\d{3}-{city}$' }, { type: 'contains-any', value: 'a, b' }, { type: 'is-json' }, { type: 'is-json', value: { type: 'object' } },
      { type: 'levenshtein', value: '{city}', threshold: 0 }, { type: 'icontains', value: '{city}' },
    ];
    for (const spec of good) assert.equal(validateAssertion(spec), null, JSON.stringify(spec));
    assert.match(validateAssertion({ type: 'contains-all' } as unknown as AssertionSpec) ?? '', /unknown assertion type "contains-all"/);
  });

  it('splits contains-any\'s comma-separated text, quotes keeping commas', () => {
    assert.deepEqual(splitCommas('a, b ,c'), ['a', 'b', 'c']);
    assert.deepEqual(splitCommas('"x, y", z, "say ""hi"""'), ['x, y', 'z', 'say "hi"']);
    assert.deepEqual(splitCommas(',a,,b,'), ['a', 'b']);
  });
});
