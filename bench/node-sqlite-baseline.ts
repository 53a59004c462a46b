/**
 * Baseline feed server in the design of the official Bluesky feed-generator starter: plain Node HTTP
 * over one SQLite file (better-sqlite3), the same posts and the same page query as a community's
 * Durable Object. Run as a child process by bench/run.ts.
 */
import { createServer } from 'node:http';
import Database from 'better-sqlite3';

const db = new Database(':memory:');
db.exec(`CREATE TABLE posts (uri TEXT PRIMARY KEY, author_did TEXT NOT NULL, indexed_us INTEGER NOT NULL) WITHOUT ROWID;
	CREATE INDEX posts_by_time ON posts (indexed_us, uri);`);
const page = db.prepare('SELECT uri, indexed_us FROM posts WHERE (indexed_us, uri) < (@time, @uri) ORDER BY indexed_us DESC, uri DESC LIMIT @limit');
const insert = db.prepare('INSERT OR IGNORE INTO posts (uri, author_did, indexed_us) VALUES (?, ?, ?)');

process.on('message', (message: { type: 'load'; posts: [string, number][] }) => {
	const load = db.transaction((posts: [string, number][]) => {
		for (const [uri, indexedUs] of posts) insert.run(uri, uri.split('/')[2], indexedUs);
	});
	load(message.posts);
	process.send!({ type: 'loaded' });
});

const server = createServer((req, res) => {
	const url = new URL(req.url ?? '/', 'http://localhost');
	const limit = Number(url.searchParams.get('limit') ?? 50);
	const cursor = url.searchParams.get('cursor');
	const [time, uri] = cursor ? [Number(cursor.split('::')[0]), cursor.split('::')[1]!] : [Number.MAX_SAFE_INTEGER, '\u{10FFFF}'];
	const rows = page.all({ time, uri, limit: limit + 1 }) as { uri: string; indexed_us: number }[];
	const items = rows.slice(0, limit);
	const last = items.at(-1);
	const body = { feed: items.map((r) => ({ post: r.uri })), ...(rows.length > limit && last ? { cursor: `${last.indexed_us}::${last.uri}` } : {}) };
	res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
});
server.listen(Number(process.env.PORT), '127.0.0.1', () => process.send!({ type: 'listening' }));
