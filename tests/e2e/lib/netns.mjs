// A second network namespace for clients, joined to the suite's namespace by a
// veth pair: the server side keeps the suite's namespace (lo plus one end of the
// veth), the client side gets lo plus the other end. Only the project's own test
// subnet 10.213.0.0/30 is used; nothing is routed anywhere else.
//
// The client namespace belongs to a holder process (`unshare --net sleep`), so no
// named namespace (/run/netns) is needed: processes join it with
// `nsenter --net=/proc/<holder>/ns/net`, which execs the program (same pid, so
// the fixtures can still stop it by pid). Killing the holder removes the
// namespace and with it both ends of the veth.
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { CHROMIUM } from './browser.mjs';
import { startProcess, runCommand } from './proc.mjs';
import { fatal, freshDir, waitFor } from './util.mjs';

const nsInode = (pid) => fs.readlinkSync(`/proc/${pid}/ns/net`);

async function must(cmd, args) {
  const r = await runCommand(cmd, args, { timeout: 10000 });
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.code} ${r.stderr.trim()}`);
  return r;
}

/**
 * Creates the client namespace and the veth pair, addresses both ends and checks
 * that a TCP connection from the client side reaches the server side.
 * Returns {serverAddr, clientAddr, pid, netPath, run(cmd, args, opts),
 * spawn(name, cmd, args, opts), destroy()}. destroy() is safe to call twice.
 */
export async function createClientNetns({
  serverIf = 'fwhep-s', clientIf = 'fwhep-c',
  serverAddr = '10.213.0.1', clientAddr = '10.213.0.2', prefixLen = 30,
} = {}) {
  const dir = freshDir('netns');
  const holder = startProcess('netns-holder', '/usr/bin/unshare', ['--net', '--', '/usr/bin/sleep', 'infinity'],
    { logFile: path.join(dir, 'holder.log') });
  const ns = {
    serverAddr, clientAddr, serverIf, clientIf, pid: holder.pid, holder,
    netPath: `/proc/${holder.pid}/ns/net`,
    /** Runs a command to completion inside the client namespace. */
    run: (cmd, args, opts) => runCommand('/usr/bin/nsenter', [`--net=${ns.netPath}`, '--', cmd, ...args], opts),
    /** Starts a tracked process inside the client namespace (see proc.mjs startProcess). */
    spawn: (name, cmd, args, opts) => startProcess(name, '/usr/bin/nsenter', [`--net=${ns.netPath}`, '--', cmd, ...args], opts),
    async destroy() {
      await runCommand('ip', ['link', 'del', serverIf], { timeout: 5000 });
      await holder.stop({ graceMs: 2000 });
    },
  };
  try {
    const own = nsInode(process.pid);
    await waitFor('the client namespace holder to unshare', () => {
      if (holder.exitInfo) throw fatal(`unshare exited: ${JSON.stringify(holder.exitInfo)} ${holder.log()}`);
      return nsInode(holder.pid) !== own;
    }, { timeout: 5000, interval: 20 });
    // A leftover from a crashed run in the same namespace would make "add" fail.
    await runCommand('ip', ['link', 'del', serverIf], { timeout: 5000 });
    await must('ip', ['link', 'add', serverIf, 'type', 'veth', 'peer', 'name', clientIf, 'netns', String(holder.pid)]);
    await must('ip', ['addr', 'add', `${serverAddr}/${prefixLen}`, 'dev', serverIf]);
    await must('ip', ['link', 'set', serverIf, 'up']);
    for (const args of [['link', 'set', 'lo', 'up'],
      ['addr', 'add', `${clientAddr}/${prefixLen}`, 'dev', clientIf],
      ['link', 'set', clientIf, 'up']]) {
      const r = await ns.run('ip', args, { timeout: 10000 });
      if (r.code !== 0) throw new Error(`(client ns) ip ${args.join(' ')}: exit ${r.code} ${r.stderr.trim()}`);
    }
    // The carrier comes up at once, the operstate (IFF_RUNNING) up to a second
    // later; until then getifaddrs users (libnice, Chromium, libuv) skip the link.
    await waitFor('both veth ends to be operationally UP', async () => {
      const [s, c] = await Promise.all([runCommand('ip', ['-o', 'link', 'show', 'dev', serverIf]),
        ns.run('ip', ['-o', 'link', 'show', 'dev', clientIf])]);
      if (/ state UP /.test(s.stdout) && / state UP /.test(c.stdout)) return true;
      throw new Error(`${s.stdout.trim()} | ${c.stdout.trim()}`);
    }, { timeout: 10000, interval: 100 });
    await checkReachable(ns);
  } catch (err) {
    await ns.destroy();
    throw err;
  }
  return ns;
}

/** A TCP connect from the client namespace to a listener on the server side of the veth. */
async function checkReachable(ns) {
  const server = net.createServer((s) => s.end('ok\n'));
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, ns.serverAddr, resolve);
  });
  const { port } = server.address();
  try {
    await waitFor(`a TCP connection from ${ns.clientAddr} to ${ns.serverAddr}:${port} across the veth`, async () => {
      const r = await ns.run('/bin/bash', ['-c', `exec 3<>/dev/tcp/${ns.serverAddr}/${port} && head -c 3 <&3`],
        { timeout: 3000 });
      if (r.code === 0 && r.stdout.startsWith('ok')) return true;
      throw new Error(`exit ${r.code}: ${r.stderr.trim()}`);
    }, { timeout: 10000, interval: 200 });
  } finally {
    server.close();
  }
}

/**
 * Ferry's UDP sockets as [{addr, port}] from /proc/<pid>/net/udp{,6} (the
 * sockets of the process's namespace), keeping only sockets whose inode is an
 * open fd of `pid`.
 */
export function udpSocketsOf(pid) {
  const inodes = new Set();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch { /* fd closed meanwhile */ }
  }
  const out = [];
  for (const file of ['udp', 'udp6']) {
    let text = '';
    try { text = fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8'); } catch { continue; }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9])) continue;
      const [hexAddr, hexPort] = f[1].split(':');
      out.push({ family: file, addr: hexToAddr(hexAddr), port: parseInt(hexPort, 16) });
    }
  }
  return out;
}

function hexToAddr(hex) {
  if (hex.length === 8) {
    // IPv4 in host (little-endian) byte order.
    return [3, 2, 1, 0].map((i) => parseInt(hex.slice(i * 2, i * 2 + 2), 16)).join('.');
  }
  return hex; // IPv6: the raw form is enough to compare with the unspecified address
}

/**
 * Headless Chromium inside the client namespace (same flags and permissions as
 * browser.mjs launchBrowser; Playwright drives it over a pipe, so the namespace
 * does not matter for control). The executable is a wrapper that nsenters the
 * namespace and execs Chromium. Returns a context with `pageErrors`; close it
 * with browser.mjs closeBrowser.
 */
export async function launchBrowserInNetns(ns) {
  const dir = freshDir('chromium-netns');
  const wrapper = path.join(dir, 'chromium-in-netns');
  fs.writeFileSync(wrapper, `#!/bin/sh\nexec /usr/bin/nsenter --net=${ns.netPath} -- ${CHROMIUM} "$@"\n`, { mode: 0o755 });
  const context = await chromium.launchPersistentContext(path.join(dir, 'profile'), {
    executablePath: wrapper,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--autoplay-policy=no-user-gesture-required'],
    // As in launchBrowser: without them Chromium may gather no candidates for a
    // recvonly connection.
    permissions: ['camera', 'microphone'],
    timeout: 30000,
  });
  context.setDefaultTimeout(15000);
  context.setDefaultNavigationTimeout(15000);
  context.pageErrors = [];
  context.on('page', (page) => page.on('pageerror', (err) => context.pageErrors.push(`${page.url()}: ${err.message}`)));
  return context;
}
