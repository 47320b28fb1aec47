/** Test data for the Datasets section's unit tests (typed by the generated schema). */
import type { Dataset, Tokenization, TokenizationStatistics, TokenizePreview } from "../../api/datasets";
import { lifecycle } from "../../test/fixtures";

export function makeStatistics(over: Partial<TokenizationStatistics> = {}): TokenizationStatistics {
  return {
    num_sequences: 1200,
    total_tokens: 153_600,
    length: {
      min: 3,
      mean: 128.0,
      median: 127,
      max: 256,
      histogram: [
        { start: 3, end: 66.25, count: 100 },
        { start: 66.25, end: 129.5, count: 600 },
        { start: 129.5, end: 192.75, count: 400 },
        { start: 192.75, end: 256, count: 100 },
      ],
    },
    unique_tokens: 338,
    vocab_size: 512,
    vocab_coverage: 0.66015625,
    top_tokens: [
      { id: 225, token: "Ġ", count: 9000, fraction: 0.0586 },
      { id: 424, token: "Ġthe", count: 4000, fraction: 0.026 },
    ],
    ...over,
  };
}

export function makeTokenization(over: Partial<Tokenization> = {}): Tokenization {
  const flags = lifecycle(over.status ?? "completed");
  return {
    id: "t1",
    dataset_id: "d1",
    model_id: "m1",
    tokenizer_name: "tiny-llama",
    split: "train",
    settings: { max_length: 128, packing: false, bos_per_sequence: true, stride: 0, min_length: 1, add_special_tokens: true },
    ...flags,
    message: null,
    progress: flags.ready ? 1 : 0,
    num_sequences: 1200,
    num_tokens: 153_600,
    vocab_size: 512,
    size_bytes: 620_000,
    statistics: makeStatistics(),
    job_id: "job-t1",
    created_at: "2025-01-01T10:00:00Z",
    updated_at: "2025-01-01T10:00:00Z",
    ...over,
  } as Tokenization;
}

export function makeDataset(over: Partial<Dataset> = {}): Dataset {
  const flags = lifecycle(over.status ?? "completed");
  return {
    id: "d1",
    name: "Shakespeare's works",
    source: "example",
    repo_id: null,
    config: null,
    split: null,
    revision: null,
    commit_sha: null,
    source_path: "example:shakespeare",
    source_format: "txt",
    text_column: null,
    txt_mode: "line",
    ...flags,
    message: null,
    progress: flags.ready ? 1 : 0,
    splits: { train: 1000, test: 200 },
    num_rows: 1200,
    size_bytes: 1_000_000,
    total_bytes: 1_000_000,
    download_bytes: null,
    license: null,
    notes: null,
    job_id: "job-1",
    tokenizations: [],
    created_at: "2025-01-01T10:00:00Z",
    updated_at: "2025-01-01T10:00:00Z",
    ...over,
  } as Dataset;
}

export function makeTokenizePreview(over: Partial<TokenizePreview> = {}): TokenizePreview {
  return {
    split: "train",
    samples: [
      {
        text: "<s>Hello world",
        tokens: [
          { id: 1, token: "<s>" },
          { id: 15043, token: "Hello" },
          { id: 3186, token: "Ġworld" },
        ],
      },
    ],
    sequences_estimate: 51_878,
    tokens_estimate: 6_640_384,
    rows_sampled: 2000,
    rows_total: 253_608,
    exact: false,
    ...over,
  };
}
