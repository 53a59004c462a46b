import { useEffect, useState } from 'react';
import { useSession } from '../session/session';
import { displayHandle, personOf, type Person } from '../feed/identity';

export function usePerson(did: string): Person {
	const { config } = useSession();
	const [person, setPerson] = useState<Person>({ did, handle: null, pds: null, displayName: null, avatar: null });
	useEffect(() => {
		if (!config) return;
		let current = true;
		void personOf(config.plcUrl, did).then((p) => current && setPerson(p));
		return () => {
			current = false;
		};
	}, [config, did]);
	return person;
}

export function Avatar({ person, size = 40 }: { person: Pick<Person, 'avatar' | 'handle' | 'did'>; size?: number }) {
	if (person.avatar) return <img className="avatar" src={person.avatar} alt="" width={size} height={size} />;
	const letter = (person.handle ?? person.did.slice(8)).charAt(0).toUpperCase();
	return (
		<span className="avatar avatar-letter" style={{ width: size, height: size }} aria-hidden="true">
			{letter}
		</span>
	);
}

/** A person by handle (and display name), resolved from their DID. */
export function PersonName({ did, withAvatar = false }: { did: string; withAvatar?: boolean }) {
	const person = usePerson(did);
	return (
		<span className="person">
			{withAvatar && <Avatar person={person} size={28} />}
			{person.displayName && <span className="person-name">{person.displayName}</span>}
			<span className="person-handle">{displayHandle(person)}</span>
		</span>
	);
}
