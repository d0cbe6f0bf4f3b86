/** The *.remote.test hosts: actor documents, WebFinger, collections and images, counted by kind. */
import http from 'node:http';
import type { ActorRef } from '../protocol.js';
import { actorDocument, collectionDocument, webfingerDocument } from './documents.js';

export interface Served {
  actor: number;
  webfinger: number;
  collection: number;
  image: number;
  other: number;
}

export interface RemoteAssets {
  publicKeyPemOf: (a: ActorRef) => string;
  avatar: Buffer;
  header: Buffer;
}

type Reply = { status: number; body?: string | Buffer; type?: string };

const ACTOR_PATH = /^\/users\/([A-Za-z0-9_]+)(?:\/(outbox|followers|following|avatar\.jpg|header\.jpg))?$/;
const json = (doc: unknown): Reply => ({ status: 200, body: JSON.stringify(doc) });

function webfinger(host: string, resource: string): Reply {
  const [user, domain] = resource.replace(/^acct:/, '').split('@');
  if (!user || domain !== host) return { status: 404 };
  return {
    status: 200,
    body: JSON.stringify(webfingerDocument({ host, user })),
    type: 'application/jrd+json',
  };
}

/** The answer to a GET on a remote host, and the kind it is counted as. */
function answer(host: string, url: URL, assets: RemoteAssets): [keyof Served, Reply] {
  if (!host.endsWith('.remote.test')) return ['other', { status: 404 }];
  if (url.pathname === '/.well-known/webfinger')
    return ['webfinger', webfinger(host, url.searchParams.get('resource') ?? '')];
  const m = ACTOR_PATH.exec(url.pathname);
  if (!m) return ['other', { status: 404 }];
  const actor = { host, user: m[1]! };
  const sub = m[2];
  if (sub === 'avatar.jpg' || sub === 'header.jpg') {
    const body = sub === 'avatar.jpg' ? assets.avatar : assets.header;
    return ['image', { status: 200, body, type: 'image/jpeg' }];
  }
  if (sub) return ['collection', json(collectionDocument(actor, sub))];
  return ['actor', json(actorDocument(actor, assets.publicKeyPemOf(actor)))];
}

export function remoteServer(assets: () => RemoteAssets, served: Served): http.Server {
  return http.createServer((req, res) => {
    req.resume();
    const send = ({ status, body = '', type = 'application/activity+json' }: Reply) => {
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    };
    if (req.method === 'POST') {
      send({ status: 202 }); // deliveries to remote inboxes
      return;
    }
    const host = String(req.headers.host ?? '')
      .toLowerCase()
      .replace(/:\d+$/, '');
    const [kind, reply] = answer(host, new URL(req.url ?? '/', 'http://remote.invalid'), assets());
    served[kind]++;
    send(reply);
  });
}
