/** The Hub repo id rule the server enforces (`owner/name`), checked as the user types. */
export const REPO_ID_PATTERN = /^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/;

/** Why `value` is not a valid repo id, or null when it is. */
export function repoIdProblem(value: string): string | null {
  const v = value.trim();
  if (!v) return "Enter a repo id such as HuggingFaceTB/SmolLM2-135M-Instruct.";
  if (!v.includes("/")) return "A repo id is owner/name, e.g. HuggingFaceTB/SmolLM2-135M-Instruct.";
  if (!REPO_ID_PATTERN.test(v)) {
    return "Use owner/name with letters, digits, '_', '.' and '-' only (one '/').";
  }
  return null;
}
