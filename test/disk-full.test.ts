// A disk that fills up during a run, for real: the CLI runs with its runs folder on a tiny tmpfs
// mounted in a user and mount namespace of its own (unshare), so a write fails with ENOSPC. The
// run must end with a message naming the file, no temporary file left, and run.json saying failed.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { root, storiesDir, tempDir, workspace } from './helpers.js';

const mood = (name: string) => join(root, 'data', 'mood', name);

/** Why a tmpfs cannot be mounted in a namespace of our own here, or nothing when it can. */
function cannotMount(): string | undefined {
  const dir = tempDir('ptune-probe-');
  const probe = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', `mount -t tmpfs -o size=16k tmpfs '${dir}'`], { encoding: 'utf8' });
  if (probe.error) return `unshare is not available here (${probe.error.message}), so no small disk can be made to fill`;
  if (probe.status !== 0) return `unshare and mount of a tmpfs are not permitted here (${probe.stderr.trim() || `exit ${probe.status}`}), so no small disk can be made to fill`;
  return undefined;
}
const skip = cannotMount();

/**
 * Runs `ptune train spec --runs-dir <disk>/runs` with <disk> a tmpfs of `sizeKb`; `fill` first
 * fills the disk to the last byte. The disk goes with the namespace, so its files are copied out
 * before: the copy is returned with the exit code, the output and the disk's own path.
 */
function trainOnSmallDisk(spec: string, sizeKb: number, fill = false): { status: number | null; stderr: string; disk: string; copy: string } {
  const dir = tempDir('ptune-disk-');
  const disk = join(dir, 'disk');
  const copy = join(dir, 'copy');
  mkdirSync(disk);
  mkdirSync(copy);
  const script = [
    `mount -t tmpfs -o size=${sizeKb}k tmpfs "$DISK" || exit 90`,
    'mkdir "$DISK/runs"',
    fill ? '(cat /dev/zero > "$DISK/fill") 2>/dev/null; true' : 'true',
    `"${process.execPath}" bin/ptune.js train "$SPEC" --device cpu --runs-dir "$DISK/runs"`,
    'code=$?',
    'rm -f "$DISK/fill"',
    'cp -a "$DISK/runs" "$COPY/" || exit 91',
    'exit $code',
  ].join('\n');
  const child = spawnSync('unshare', ['--user', '--map-root-user', '--mount', 'sh', '-c', script], {
    cwd: root, encoding: 'utf8', timeout: 300_000, env: { ...process.env, DISK: disk, COPY: copy, SPEC: spec },
  });
  assert.ok(child.status !== 90 && child.status !== 91, `the small disk could not be mounted or copied out: ${child.stderr}`);
  return { status: child.status, stderr: child.stderr, disk, copy: join(copy, 'runs') };
}

/** Every file under a folder, as paths relative to it. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => statSync(join(dir, f)).isFile());
}

const spec = () => workspace({
  name: 'mood', model: storiesDir,
  data: { train: mood('train.jsonl'), test: mood('test.jsonl'), text: '{story} In the end, everyone was', label: 'mood', verbalizer: { happy: 'happy', sad: 'sad' } },
  discretePrompts: [{ id: 'zero-shot', template: '{story} In the end, everyone was' }],
  softPrompt: { length: 4, init: 'class-labels' },
  training: { steps: 2, batchSize: 4, evalEvery: 2, seed: 0 },
  evaluation: { generation: false },
});

describe('a disk that fills up during a run', { skip }, () => {
  it('a write that does not fit ends the run failed, with a message naming the file and no temporary file left', () => {
    // 48 KiB: the record, the checkpoint, metrics and the adapter fit (a 4 KiB page each); the 200
    // test records' predictions for two prompts (about 70 KB) do not
    const { status, stderr, disk, copy } = trainOnSmallDisk(spec(), 48);
    assert.equal(status, 1, stderr);
    const [id] = readdirSync(copy);
    const meant = join(disk, 'runs', id, 'predictions.jsonl');
    const message = `could not write ${meant}: the disk is full; free some space and run again`;
    assert.ok(stderr.includes(`ptune train: ${message}\n`), stderr);
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    const files = filesUnder(join(copy, id));
    assert.deepEqual(files.filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
    assert.ok(!files.includes('predictions.jsonl') && !files.includes('eval.json'), files.join(', '));
    assert.ok(files.includes(join('checkpoints', 'last.safetensors')), 'what was written before stays');
    const record = JSON.parse(readFileSync(join(copy, id, 'run.json'), 'utf8'));
    assert.equal(record.status, 'failed');
    assert.equal(record.error, message);
  });

  it('a disk full before run.json is written leaves no run folder behind, and says which file', () => {
    const { status, stderr, disk, copy } = trainOnSmallDisk(spec(), 48, true);
    assert.equal(status, 1, stderr);
    assert.match(stderr, new RegExp(`ptune train: could not write ${disk.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/runs/[^/]+-mood/run\\.json: the disk is full; free some space and run again\\n`));
    assert.doesNotMatch(stderr, /^\s+at /m, 'no stack trace');
    // a folder without its run.json is no run: nothing half-made stays in the runs folder
    assert.ok(existsSync(copy));
    assert.deepEqual(filesUnder(copy), []);
    assert.deepEqual(readdirSync(copy), []);
  });
});
