import { Link, useLocation } from "../lib/router";

export default function NotFoundPage() {
  const { pathname } = useLocation();
  return (
    <div className="p-6" data-testid="not-found">
      <h1 className="text-base font-semibold text-zinc-100">Not found</h1>
      <p className="mt-1 text-sm text-zinc-400">
        There is no section at <code className="font-mono">{pathname}</code>.{" "}
        <Link href="/" className="text-sky-400 hover:underline">
          Go to the overview
        </Link>
        .
      </p>
    </div>
  );
}
