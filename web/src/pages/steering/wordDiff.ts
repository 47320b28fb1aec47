/**
 * A word diff of two generations (baseline vs steered), recomputed as tokens stream in.
 *
 * Words are compared, not tokens: the two runs may split the same text differently, and a reader judges what
 * changed in words. Whitespace is kept in the parts (so a side renders exactly as generated) but never counts as
 * a difference.
 */

export interface DiffPart {
  text: string;
  /** true: this word is not in the other text's longest common subsequence (removed or added). */
  changed: boolean;
}

export interface WordDiff {
  baseline: DiffPart[];
  steered: DiffPart[];
  /** Words in common / words in the longer text (1 for two empty texts), as the server's word overlap roughly. */
  shared: number;
}

/** Alternating whitespace and words: "a  b" → ["a", "  ", "b"] (empty pieces dropped). */
export function splitWords(text: string): string[] {
  return text.split(/(\s+)/).filter((piece) => piece !== "");
}

const isSpace = (piece: string) => /^\s+$/.test(piece);

/** Which words of `a` and `b` belong to a longest common subsequence (dynamic programming, O(|a|·|b|)). */
function commonWords(a: string[], b: string[]): { inA: boolean[]; inB: boolean[] } {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const table = new Uint32Array(rows * cols);
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      table[i * cols + j] = a[i] === b[j]
        ? table[(i + 1) * cols + j + 1]! + 1
        : Math.max(table[(i + 1) * cols + j]!, table[i * cols + j + 1]!);
    }
  }
  const inA = new Array<boolean>(a.length).fill(false);
  const inB = new Array<boolean>(b.length).fill(false);
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      inA[i++] = true;
      inB[j++] = true;
    } else if (table[(i + 1) * cols + j]! >= table[i * cols + j + 1]!) {
      i++;
    } else {
      j++;
    }
  }
  return { inA, inB };
}

function parts(pieces: string[], kept: boolean[]): DiffPart[] {
  const out: DiffPart[] = [];
  let word = 0;
  for (const piece of pieces) {
    const changed = isSpace(piece) ? false : !kept[word++];
    const last = out[out.length - 1];
    // Neighbours of one kind are merged (a space between two changed words joins them) so the marks read as runs.
    if (last && (last.changed === changed || (isSpace(piece) && last.changed))) {
      last.text += piece;
    } else {
      out.push({ text: piece, changed });
    }
  }
  // A run of changed words ends at its last word, not at the space after it.
  for (let k = 0; k < out.length; k++) {
    const part = out[k]!;
    const trailing = part.changed ? /\s+$/.exec(part.text) : null;
    if (trailing) {
      part.text = part.text.slice(0, trailing.index);
      out.splice(k + 1, 0, { text: trailing[0], changed: false });
    }
  }
  return out.filter((part) => part.text !== "");
}

/** The two texts split into parts, each word marked when the other text lacks it. */
export function wordDiff(baseline: string, steered: string): WordDiff {
  const a = splitWords(baseline);
  const b = splitWords(steered);
  const wordsA = a.filter((p) => !isSpace(p));
  const wordsB = b.filter((p) => !isSpace(p));
  const { inA, inB } = commonWords(wordsA, wordsB);
  const common = inA.filter(Boolean).length;
  const longest = Math.max(wordsA.length, wordsB.length);
  return { baseline: parts(a, inA), steered: parts(b, inB), shared: longest === 0 ? 1 : common / longest };
}
