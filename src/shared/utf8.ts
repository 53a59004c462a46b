/** The UTF-8 length of a string without encoding it: what the queue counts of a JSON body. */
export function utf8Length(text: string): number {
	let bytes = 0;
	for (let i = 0; i < text.length; i++) {
		const code = text.charCodeAt(i);
		if (code < 0x80) bytes += 1;
		else if (code < 0x800) bytes += 2;
		else if (code >= 0xd800 && code < 0xdc00 && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
			bytes += 4; // a surrogate pair: one 4-byte code point
			i++;
		} else bytes += 3; // other BMP characters, and lone surrogates (encoded as U+FFFD)
	}
	return bytes;
}
