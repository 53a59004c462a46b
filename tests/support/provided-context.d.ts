// Values the Node-side global setup hands to tests running inside workerd.
import 'vitest';

declare module 'vitest' {
	export interface ProvidedContext {
		/** Base URL of the test Jetstream server's control routes (publish, drop, status). */
		jetstreamControl: string;
		/** ws: URL of a TCP server that accepts connections and never answers (its count: GET <jetstreamControl>/silent). */
		silentPeer: string;
		/** ws: URL of a port nothing listens on (every connection is refused at once). */
		refusedPeer: string;
	}
}
