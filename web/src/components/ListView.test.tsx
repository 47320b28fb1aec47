import { act, fireEvent, render, screen } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { EmptyList, listParams, Pager, SearchFilter, SelectFilter } from "./ListView";

afterEach(() => {
  vi.useRealTimers();
});

describe("list view pieces", () => {
  it("reads search and page from the URL (page 1 for anything odd)", () => {
    expect(listParams(new URLSearchParams("search=imdb&page=3"))).toEqual({ text: "imdb", page: 3 });
    expect(listParams(new URLSearchParams("search=&page=-2"))).toEqual({ text: undefined, page: 1 });
    expect(listParams(new URLSearchParams("page=x"))).toEqual({ text: undefined, page: 1 });
  });

  it("puts the search box into the URL once typing pauses, back on page 1", () => {
    vi.useFakeTimers();
    window.history.replaceState(null, "", "/things?page=4");
    render(<SearchFilter text={undefined} label="Search things" testId="search" />);
    fireEvent.change(screen.getByTestId("search"), { target: { value: " llama " } });
    act(() => vi.advanceTimersByTime(299));
    expect(window.location.search).toBe("?page=4");
    act(() => vi.advanceTimersByTime(1));
    expect(window.location.search).toBe("?search=llama");
  });

  it("sets one filter and drops the page; 'all' removes it", () => {
    window.history.replaceState(null, "", "/things?page=2");
    render(<SelectFilter label="Status" param="status" value={undefined} options={["ready", "error"]} testId="status" />);
    fireEvent.change(screen.getByTestId("status"), { target: { value: "error" } });
    expect(window.location.search).toBe("?status=error");
    fireEvent.change(screen.getByTestId("status"), { target: { value: "" } });
    expect(window.location.search).toBe("");
  });

  it("shows the pager only for more than one page", () => {
    const { rerender } = render(<Pager page={1} pages={1} />);
    expect(screen.queryByLabelText("Next page")).not.toBeInTheDocument();
    rerender(<Pager page={2} pages={2} />);
    expect(screen.getByText("page 2 of 2")).toBeInTheDocument();
    expect(screen.getByLabelText("Next page")).toBeDisabled();
  });

  it("puts an action under the empty-list text when given one", () => {
    const { rerender } = render(<EmptyList testId="empty">Nothing yet.</EmptyList>);
    expect(screen.getByTestId("empty").tagName).toBe("P");
    rerender(
      <EmptyList testId="empty" action={<button type="button">Add one</button>}>
        Nothing yet.
      </EmptyList>,
    );
    expect(screen.getByTestId("empty")).toHaveTextContent("Nothing yet.Add one");
  });
});
