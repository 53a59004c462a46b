import type { ChildCommunity, Community } from '../../../../client/atrarium-client';
import { useAction, useAsync } from '../../components/hooks';
import { Empty, Loading, Notice } from '../../components/notice';
import { PersonName } from '../../components/person';
import { getRecord, personOf } from '../../feed/identity';
import { Link } from '../../router';
import { useSession, useUser } from '../../session/session';

/** What a link means, said wherever one is made or accepted. */
export const LINK_MEANING =
	"While the link counts, people blocked in the parent are blocked in the child too (never the child's owner), and the child's feed can mix in the parent's posts. Only a graduated community can have children.";

/** The parent's side: communities naming this one as parent; its owner and moderators accept or release each. */
export function ChildrenSection({ community, onChanged }: { community: Community; onChanged: () => void }) {
	const { service } = useSession();
	const children = useAsync(() => service.children(community.id), [community.id]);
	const graduated = community.stage === 'graduated' && community.stageStanding?.earned !== false;
	return (
		<section aria-labelledby="children-heading">
			<h2 id="children-heading">Children</h2>
			<p className="hint">
				Other communities can name this one as their parent. A link counts once you or a moderator accept it, and while {community.name} is graduated.{' '}
				{LINK_MEANING} Release a child to end its link; its owner can end it too.
			</p>
			{!graduated && (
				<Notice kind="info">
					{community.name} is not graduated{community.stage === 'graduated' ? ' (declared, but this week’s figures do not meet it)' : ''}, so no link to it
					counts now.
				</Notice>
			)}
			{!children.data && children.loading && <Loading label="Loading the children…" />}
			{children.error && <Notice kind="error">Could not load the children: {children.error}</Notice>}
			{children.data && children.data.length === 0 && (
				<Empty title="No children yet">When a community names this one as its parent, it appears here for you to accept.</Empty>
			)}
			{children.data && children.data.length > 0 && (
				<ul className="members">
					{children.data.map((child) => (
						<ChildRow key={child.configUri} child={child} parent={community} graduated={graduated} onChanged={() => (children.reload(), onChanged())} />
					))}
				</ul>
			)}
		</section>
	);
}

function ChildRow({ child, parent, graduated, onChanged }: { child: ChildCommunity; parent: Community; graduated: boolean; onChanged: () => void }) {
	const user = useUser();
	const { service, config } = useSession();
	const action = useAction();
	const act = (accept: boolean) =>
		void action.run(async () => {
			const ref = child.configCid ? child : await currentConfig(child, config?.plcUrl);
			await (accept ? user!.client.acceptChild(parent, ref) : user!.client.releaseChild(parent, ref));
			// Confirm by re-reading: the parent's word reaches the child in a moment.
			let now: ChildCommunity | undefined;
			for (let i = 0; i < 20; i++) {
				now = (await service.children(parent.id)).find((c) => c.configUri === child.configUri);
				if (now && now.accepted === accept && (accept ? now.linked || !graduated : !now.linked)) break;
				await new Promise((resolve) => setTimeout(resolve, 500));
			}
			onChanged();
			if (!now || now.accepted !== accept)
				throw new Error(`The service does not show ${child.name} as ${accept ? 'accepted' : 'released'} yet. Reload in a moment.`);
			if (!accept) return `Released ${child.name}: the link no longer counts.`;
			if (now.linked) return `${child.name} is now linked to ${parent.name}.`;
			return graduated
				? `Accepted ${child.name}; the link is not shown as counting yet. Reload in a moment.`
				: `Accepted ${child.name}. The link counts once ${parent.name} is graduated.`;
		});
	return (
		<li className="member">
			<div className="row spread wrap">
				<span>
					<Link to={`/c/${child.id}`}>{child.name}</Link> by <PersonName did={child.ownerDid} />{' '}
					{child.linked ? (
						<span className="badge">linked</span>
					) : child.accepted ? (
						<span className="badge badge-warn">accepted, not linked</span>
					) : (
						<span className="badge badge-warn">waiting for you to accept</span>
					)}
				</span>
				{user && (
					<button type="button" className={child.accepted ? undefined : 'primary'} disabled={action.pending} onClick={() => act(!child.accepted)}>
						{action.pending ? 'Working…' : child.accepted ? 'Release' : 'Accept'}
					</button>
				)}
			</div>
			{action.done && <Notice kind="success">{action.done}</Notice>}
			{action.error && <Notice kind="error">{action.error}</Notice>}
		</li>
	);
}

/** The child's config as its owner's PDS holds it, when the service has no CID for it. */
async function currentConfig(child: ChildCommunity, plcUrl: string | undefined): Promise<ChildCommunity> {
	const owner = plcUrl ? await personOf(plcUrl, child.ownerDid) : null;
	const record = owner?.pds ? await getRecord(owner.pds, child.ownerDid, 'net.atrarium.community.config', child.id) : null;
	if (!record || record.uri !== child.configUri) throw new Error(`${child.name}'s config is not on its owner's PDS.`);
	return { ...child, configCid: record.cid };
}
