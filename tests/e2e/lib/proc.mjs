// Child processes for the fixtures. Every process is tracked by pid and
// killed by pid (its own process group) in teardown and at exit; nothing is
// ever killed by name.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import { sleep } from './util.mjs';

const live = new Set();

// Last resort: if the test process ends without teardown, kill what is left.
function killAll() {
  for (const p of live) {
    try { process.kill(-p.pid, 'SIGKILL'); } catch { /* already gone */ }
  }
}
process.on('exit', killAll);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
  process.once(sig, () => {
    killAll();
    process.exit(128 + ({ SIGHUP: 1, SIGINT: 2, SIGTERM: 15 })[sig]);
  });
}

/** Appends every thread's backtrace of a hung process to its log (needs gdb). */
async function dumpStacks(handle) {
  const r = await runCommand('gdb', ['-p', String(handle.pid), '-batch', '-nx',
    '-ex', 'thread apply all bt'], { timeout: 30000 });
  fs.appendFileSync(handle.logFile, `\n==== stacks at SIGKILL (gdb exit ${r.code}) ====\n`
    + `${r.stdout}${r.stderr}\n`);
}

/**
 * Starts `cmd args` with stdout+stderr appended to `logFile`. Returns a
 * handle with {pid, exited (promise of {code, signal}), exitInfo, log(), stop()}.
 * The child gets its own process group so that stop() also reaches anything
 * it started.
 */
export function startProcess(name, cmd, args, { logFile, env, cwd } = {}) {
  const fd = fs.openSync(logFile, 'a');
  const child = spawn(cmd, args, {
    stdio: ['ignore', fd, fd],
    env: { ...process.env, ...env },
    cwd,
    detached: true,
  });
  fs.closeSync(fd);
  const handle = {
    name,
    pid: child.pid,
    logFile,
    exitInfo: null,
    exited: null,
    log: () => { try { return fs.readFileSync(logFile, 'utf8'); } catch { return ''; } },
    /**
     * SIGTERM, then SIGKILL after `graceMs`. Resolves to {code, signal, killed}
     * where killed says whether SIGKILL was needed.
     */
    async stop({ signal = 'SIGTERM', graceMs = 5000 } = {}) {
      if (handle.exitInfo) return { ...handle.exitInfo, killed: false };
      try { process.kill(handle.pid, signal); } catch { /* gone */ }
      const res = await Promise.race([handle.exited, sleep(graceMs).then(() => null)]);
      if (res) return { ...res, killed: false };
      // A hang is only diagnosable from its threads' stacks: keep them in the log.
      await dumpStacks(handle);
      try { process.kill(-handle.pid, 'SIGKILL'); } catch { /* gone */ }
      const after = await handle.exited;
      return { ...after, killed: true };
    },
  };
  handle.exited = new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      handle.exitInfo = { code, signal };
      live.delete(handle);
      // Reap anything the child left in its group (e.g. nginx workers).
      try { process.kill(-handle.pid, 'SIGKILL'); } catch { /* none left */ }
      resolve(handle.exitInfo);
    });
    child.on('error', (err) => {
      handle.exitInfo = { code: null, signal: null, error: err };
      live.delete(handle);
      resolve(handle.exitInfo);
    });
  });
  if (child.pid) live.add(handle);
  return handle;
}

/** Runs a command to completion with a timeout; resolves {code, signal, stdout, stderr}. */
export function runCommand(cmd, args, { timeout = 30000, env } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, detached: true });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => { stdout += d; });
    child.stderr.on('data', (d) => { stderr += d; });
    const timer = setTimeout(() => {
      try { process.kill(-child.pid, 'SIGKILL'); } catch { /* gone */ }
    }, timeout);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.on('error', (err) => {
      clearTimeout(timer);
      resolve({ code: null, signal: null, stdout, stderr: stderr + String(err) });
    });
  });
}
