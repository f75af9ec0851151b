//! Pagination as async streams, written once for every integration.
//!
//! Both helpers yield items, not pages, and neither trusts the page size it asked for: Jira
//! Cloud returns at most 100 issues whatever `maxResults` says, and other servers cap lower
//! under load. So [`token_stream`] follows tokens until the server gives none, and
//! [`offset_stream`] plans its offsets from the size of the first page actually returned and
//! fills any short page before moving on. A stream therefore never yields fewer items than the
//! server reports, and a stalled cursor (the same token twice) is an error, not an endless loop.

use std::future::Future;

use futures::stream::{self, BoxStream, StreamExt as _, TryStreamExt as _};

use crate::{Error, ErrorKind, Result};

/// One page of a token-paged list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPage<T> {
    pub items: Vec<T>,
    /// The token for the next page; `None` (or empty) on the last page.
    pub next: Option<String>,
}

/// One page of an offset-paged list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetPage<T> {
    pub items: Vec<T>,
    /// How many items exist in all, when the server says.
    pub total: Option<u64>,
}

enum Cursor {
    Start,
    Next(String),
    Done,
}

/// Streams every item of a token-paged list; `fetch(None)` asks for the first page.
pub fn token_stream<T, F, Fut>(fetch: F) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: FnMut(Option<String>) -> Fut + Send + 'static,
    Fut: Future<Output = Result<TokenPage<T>>> + Send + 'static,
{
    stream::try_unfold((fetch, Cursor::Start), |(mut fetch, cursor)| async move {
        let asked = match cursor {
            Cursor::Done => return Ok(None),
            Cursor::Start => None,
            Cursor::Next(token) => Some(token),
        };
        let page = fetch(asked.clone()).await?;
        let next = match page.next.filter(|t| !t.is_empty()) {
            None => Cursor::Done,
            Some(token) if asked.as_deref() == Some(token.as_str()) => {
                return Err(Error::new(
                    ErrorKind::Upstream,
                    "the server returned the same page token twice; paging stopped to avoid a loop",
                ));
            }
            Some(token) => Cursor::Next(token),
        };
        Ok(Some((page.items, (fetch, next))))
    })
    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
    .try_flatten()
    .boxed()
}

/// Streams every item of an offset-paged list, `concurrency` pages at a time.
///
/// `fetch(start, max)` returns up to `max` items from `start`. The first page decides the real
/// page size and, through `total`, the remaining offsets, which are then fetched in parallel
/// and yielded in order. Without a `total`, pages are fetched one after another until an empty
/// one.
pub fn offset_stream<T, F, Fut>(
    page_size: u32,
    concurrency: usize,
    fetch: F,
) -> BoxStream<'static, Result<T>>
where
    T: Send + 'static,
    F: Fn(u64, u32) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<OffsetPage<T>>> + Send + 'static,
{
    let page_size = page_size.max(1);
    let first_fetch = fetch.clone();
    stream::once(async move { first_fetch(0, page_size).await })
        .map_ok(move |first| -> BoxStream<'static, Result<T>> {
            let got = first.items.len() as u64;
            let head = stream::iter(first.items.into_iter().map(Ok));
            if got == 0 {
                return head.boxed();
            }
            match first.total {
                Some(total) => {
                    // Plan by what the server really returned, not by what we asked for.
                    let step = got;
                    let fetch = fetch.clone();
                    let rest =
                        stream::iter((1..).map(move |i| i * step).take_while(move |s| *s < total))
                            .map(move |start| {
                                let want = step.min(total - start);
                                fill_range(fetch.clone(), start, want)
                            })
                            .buffered(concurrency.max(1))
                            .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
                            .try_flatten();
                    head.chain(rest).boxed()
                }
                None => {
                    // A later page may still say where the list ends (Agile's `isLast`
                    // arrives as a total on the last page); stop there rather than asking
                    // for one more, empty page.
                    let rest = stream::try_unfold(
                        (fetch.clone(), Some(got)),
                        move |(fetch, start)| async move {
                            let Some(start) = start else {
                                return Ok::<_, Error>(None);
                            };
                            let page = fetch(start, page_size).await?;
                            if page.items.is_empty() {
                                return Ok(None);
                            }
                            let next = start + page.items.len() as u64;
                            let more = page.total.is_none_or(|total| next < total);
                            Ok(Some((page.items, (fetch, more.then_some(next)))))
                        },
                    )
                    .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
                    .try_flatten();
                    head.chain(rest).boxed()
                }
            }
        })
        .try_flatten()
        .boxed()
}

/// Fetches `want` items from `start`, asking again where a page comes back short.
async fn fill_range<T, F, Fut>(fetch: F, start: u64, want: u64) -> Result<Vec<T>>
where
    F: Fn(u64, u32) -> Fut,
    Fut: Future<Output = Result<OffsetPage<T>>>,
{
    let mut items = Vec::with_capacity(want as usize);
    while (items.len() as u64) < want {
        let remaining = want - items.len() as u64;
        let page = fetch(
            start + items.len() as u64,
            remaining.min(u64::from(u32::MAX)) as u32,
        )
        .await?;
        if page.items.is_empty() {
            // The list shrank while we paged; there is nothing more to fetch here.
            break;
        }
        items.extend(page.items.into_iter().take(remaining as usize));
    }
    Ok(items)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn token_paging_yields_every_item() {
        let stream = token_stream(|token: Option<String>| async move {
            let page: u32 = token.as_deref().map_or(0, |t| t.parse().unwrap());
            let items: Vec<u32> = (page * 10..(page * 10 + 10).min(95)).collect();
            let next = (page < 9).then(|| (page + 1).to_string());
            Ok(TokenPage { items, next })
        });
        let all: Vec<u32> = stream.try_collect().await.unwrap();
        assert_eq!(all, (0..95).collect::<Vec<_>>());
    }

    #[tokio::test]
    async fn a_repeated_token_is_an_error_not_a_loop() {
        let stream = token_stream(|_token| async move {
            Ok(TokenPage {
                items: vec![1],
                next: Some("same".to_owned()),
            })
        });
        let result: Result<Vec<u32>> = stream.try_collect().await;
        assert_eq!(result.unwrap_err().kind(), ErrorKind::Upstream);
    }

    #[tokio::test]
    async fn offset_paging_ignores_the_requested_page_size() {
        // The server caps pages at 30 whatever is asked, and reports 1,000 items.
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let stream = offset_stream(100, 4, move |start, max| {
            counter.fetch_add(1, Ordering::Relaxed);
            async move {
                let end = (start + u64::from(max.min(30))).min(1000);
                Ok(OffsetPage {
                    items: (start..end).collect::<Vec<u64>>(),
                    total: Some(1000),
                })
            }
        });
        let all: Vec<u64> = stream.try_collect().await.unwrap();
        assert_eq!(all, (0..1000).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::Relaxed), 34);
    }

    #[tokio::test]
    async fn without_a_total_paging_stops_where_a_later_page_says() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let stream = offset_stream(10, 2, move |start, _max| {
            counter.fetch_add(1, Ordering::Relaxed);
            async move {
                let end = (start + 10).min(25);
                Ok(OffsetPage {
                    items: (start..end).collect::<Vec<u64>>(),
                    total: (end == 25).then_some(25),
                })
            }
        });
        let all: Vec<u64> = stream.try_collect().await.unwrap();
        assert_eq!(all, (0..25).collect::<Vec<_>>());
        assert_eq!(calls.load(Ordering::Relaxed), 3, "no extra empty page");
    }

    #[tokio::test]
    async fn short_pages_are_filled() {
        // Pages after the first come back with only 7 items.
        let stream = offset_stream(50, 2, move |start, max| async move {
            let cap = if start == 0 { 50 } else { 7 };
            let end = (start + u64::from(max.min(cap))).min(260);
            Ok(OffsetPage {
                items: (start..end).collect::<Vec<u64>>(),
                total: Some(260),
            })
        });
        let all: Vec<u64> = stream.try_collect().await.unwrap();
        assert_eq!(all, (0..260).collect::<Vec<_>>());
    }
}
