/**
 * A TCP proxy between a client and the apiserver, to cut the network path without touching
 * the apiserver. It forwards bytes and knows nothing of TLS or HTTP, so the client still talks
 * TLS to the apiserver itself (its certificate covers 127.0.0.1 on any port).
 *
 * Modes:
 *  - "pass": forwards both ways.
 *  - "black-hole": a silent network partition. Connections stay open and new ones are
 *    accepted, but nothing is forwarded either way: what either side sends is held, and a
 *    new connection is not even connected upstream. Back in "pass", held bytes flow on and
 *    held connections are connected, as TCP recovers once a partition heals.
 *  - "refuse": the port is closed (new connections get ECONNREFUSED) and open connections
 *    are reset, as when nothing listens any more.
 */
import net from "node:net";

export type ProxyMode = "pass" | "black-hole" | "refuse";

export interface ProxyCounters {
  /** Connections accepted from clients since the proxy started. */
  readonly accepted: number;
  /** Connections open now (client side). */
  readonly open: number;
  /** Bytes forwarded, client to apiserver and back. */
  readonly forwardedUp: number;
  readonly forwardedDown: number;
  /** Bytes received and held while black-holed, not forwarded (yet). */
  readonly held: number;
}

/** One client connection and, once connected, its upstream twin. */
class Link {
  upstream: net.Socket | undefined;
  readonly toUpstream: Buffer[] = [];
  readonly toClient: Buffer[] = [];
  clientEnded = false;
  upstreamEnded = false;
  upstreamClosed = false;
  readonly client: net.Socket;

  constructor(client: net.Socket) {
    this.client = client;
  }

  get upstreamWritable(): boolean {
    return this.upstream !== undefined && !this.upstream.connecting && this.upstream.writable;
  }

  destroy(reset: boolean): void {
    // A socket already ended (shutdown sent) cannot be reset: libuv refuses (uv_tcp_close_reset
    // returns EINVAL) and Node then never closes the handle, so the process hangs at exit.
    if (reset && !this.client.writableEnded) this.client.resetAndDestroy();
    else this.client.destroy();
    this.upstream?.destroy();
  }
}

export class TcpProxy {
  readonly #target: { readonly host: string; readonly port: number };
  readonly #links = new Set<Link>();
  #server: net.Server | undefined;
  #port = 0;
  #mode: ProxyMode = "pass";
  #accepted = 0;
  #forwardedUp = 0;
  #forwardedDown = 0;

  private constructor(target: { host: string; port: number }) {
    this.#target = target;
  }

  /** Starts a proxy on a free 127.0.0.1 port to `target` (a URL such as the apiserver's). */
  static async start(target: string, mode: ProxyMode = "pass"): Promise<TcpProxy> {
    const url = new URL(target);
    const proxy = new TcpProxy({
      host: url.hostname,
      port: Number(url.port || (url.protocol === "https:" ? 443 : 80)),
    });
    await proxy.#listen();
    await proxy.setMode(mode);
    return proxy;
  }

  get port(): number {
    return this.#port;
  }

  get mode(): ProxyMode {
    return this.#mode;
  }

  /** The apiserver URL through the proxy. */
  get url(): string {
    return `https://127.0.0.1:${String(this.#port)}`;
  }

  counters(): ProxyCounters {
    let held = 0;
    for (const link of this.#links) {
      for (const chunk of [...link.toUpstream, ...link.toClient]) held += chunk.length;
    }
    return {
      accepted: this.#accepted,
      open: this.#links.size,
      forwardedUp: this.#forwardedUp,
      forwardedDown: this.#forwardedDown,
      held,
    };
  }

  async setMode(mode: ProxyMode): Promise<void> {
    const previous = this.#mode;
    this.#mode = mode;
    if (mode === "refuse") {
      this.#closeListener();
      for (const link of this.#links) link.destroy(true);
      this.#links.clear();
      return;
    }
    if (previous === "refuse") await this.#listen();
    if (mode === "pass") for (const link of this.#links) this.#flush(link);
  }

  async close(): Promise<void> {
    for (const link of this.#links) link.destroy(false);
    this.#links.clear();
    const server = this.#server;
    this.#server = undefined;
    if (server) await new Promise((resolve) => server.close(resolve));
  }

  async #listen(): Promise<void> {
    const server = net.createServer({ allowHalfOpen: true }, (client) => {
      this.#accept(client);
    });
    // The same port again after "refuse": clients keep their URL.
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.#port, "127.0.0.1", () => {
        server.off("error", reject);
        resolve();
      });
    });
    this.#server = server;
    this.#port = (server.address() as net.AddressInfo).port;
  }

  #closeListener(): void {
    this.#server?.close();
    this.#server = undefined;
  }

  #accept(client: net.Socket): void {
    this.#accepted++;
    const link = new Link(client);
    this.#links.add(link);
    client.on("data", (chunk: Buffer) => {
      if (this.#mode === "pass" && link.upstreamWritable) this.#write(link, "up", chunk);
      else link.toUpstream.push(chunk);
    });
    client.on("end", () => {
      link.clientEnded = true;
      if (this.#mode === "pass") this.#flush(link);
    });
    client.on("error", () => undefined);
    client.on("close", () => {
      link.upstream?.destroy();
      this.#links.delete(link);
    });
    if (this.#mode === "pass") this.#connect(link);
  }

  #connect(link: Link): void {
    const upstream = net.connect({ port: this.#target.port, host: this.#target.host, allowHalfOpen: true });
    link.upstream = upstream;
    upstream.on("connect", () => {
      if (this.#mode === "pass") this.#flush(link);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (this.#mode === "pass") this.#write(link, "down", chunk);
      else link.toClient.push(chunk);
    });
    upstream.on("end", () => {
      link.upstreamEnded = true;
      if (this.#mode === "pass") this.#flush(link);
    });
    upstream.on("error", () => undefined);
    upstream.on("close", () => {
      // Like its bytes, the end of the upstream reaches the client only while not black-holed.
      link.upstreamClosed = true;
      if (this.#mode === "pass") this.#flush(link);
    });
  }

  /** Passes on, in "pass", what was held: bytes, then a connection, end of stream or close. */
  #flush(link: Link): void {
    if (!link.upstream) {
      this.#connect(link);
      return;
    }
    if (link.upstream.connecting) return; // flushed on connect
    for (const chunk of link.toClient.splice(0)) this.#write(link, "down", chunk);
    if (link.upstreamWritable) {
      for (const chunk of link.toUpstream.splice(0)) this.#write(link, "up", chunk);
      if (link.clientEnded) link.upstream.end();
    }
    // A clean end is passed on as an end; an upstream that vanished (reset, refused) closes the client.
    if (link.upstreamEnded) link.client.end();
    else if (link.upstreamClosed) link.client.destroy();
  }

  #write(link: Link, direction: "up" | "down", chunk: Buffer): void {
    if (direction === "up") {
      link.upstream?.write(chunk);
      this.#forwardedUp += chunk.length;
    } else {
      link.client.write(chunk);
      this.#forwardedDown += chunk.length;
    }
  }
}
