import { Loading } from './components/notice';
import { CommunitiesPage } from './pages/communities-page';
import { CommunityPage } from './pages/community/community-page';
import { CreateCommunityPage } from './pages/create-community-page';
import { SignInPage } from './pages/sign-in-page';
import { Link, routeOf, usePath } from './router';
import { SessionProvider, useSession } from './session/session';

export function App() {
	return (
		<SessionProvider>
			<a className="skip-link" href="#main">
				Skip to content
			</a>
			<Header />
			<main id="main" tabIndex={-1}>
				<Page />
			</main>
		</SessionProvider>
	);
}

function Header() {
	const { state, signOut } = useSession();
	const path = usePath();
	return (
		<header className="site-header">
			<Link to="/" className="brand">
				Atrarium
			</Link>
			<nav aria-label="Main" className="row">
				<Link to="/" aria-current={path === '/' ? 'page' : undefined}>
					Communities
				</Link>
				{state.status === 'signed-in' && (
					<Link to="/new" aria-current={path === '/new' ? 'page' : undefined}>
						Create
					</Link>
				)}
			</nav>
			<div className="account row">
				{state.status === 'signed-in' ? (
					<>
						<span className="person-handle" data-testid="signed-in-as">
							@{state.user.handle}
						</span>
						<button type="button" onClick={() => void signOut()}>
							Sign out
						</button>
					</>
				) : state.status === 'signed-out' ? (
					<Link className="button primary" to={`/sign-in?return=${encodeURIComponent(path.startsWith('/sign-in') ? '/' : path)}`}>
						Sign in
					</Link>
				) : null}
			</div>
		</header>
	);
}

function Page() {
	const path = usePath();
	const { state } = useSession();
	const route = routeOf(path);
	if (state.status === 'loading') return <Loading label="Starting…" />;
	switch (route.page) {
		case 'communities':
			return <CommunitiesPage query={route.query} />;
		case 'create':
			return <CreateCommunityPage />;
		case 'sign-in':
			return <SignInPage returnTo={route.returnTo} />;
		case 'community':
			return <CommunityPage id={route.id} tab={route.tab} />;
		case 'not-found':
			return (
				<>
					<h1>Page not found</h1>
					<p>
						<Link to="/">Browse communities</Link>
					</p>
				</>
			);
	}
}
