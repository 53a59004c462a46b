// Values the Node-side global setup hands to tests running inside workerd.
import 'vitest';

declare module 'vitest' {
	export interface ProvidedContext {
		/** Base URL of the test Jetstream server's control routes (publish, drop, status). */
		jetstreamControl: string;
	}
}
