//! Paging for list queries, shaped like the HTTP list envelope of DESIGN §5.

use serde::{Deserialize, Serialize};

/// Which page of a list to return. Pages are numbered from 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PageRequest {
    pub page: u32,
    pub page_size: u32,
}

impl PageRequest {
    /// The largest page the store returns; bigger requests are clamped so one call cannot pull
    /// a whole table into memory.
    pub const MAX_PAGE_SIZE: u32 = 1000;

    pub fn new(page: u32, page_size: u32) -> Self {
        Self { page, page_size }
    }

    /// The page number, at least 1.
    pub fn page(&self) -> u32 {
        self.page.max(1)
    }

    /// The page size, between 1 and [`Self::MAX_PAGE_SIZE`].
    pub fn size(&self) -> u32 {
        self.page_size.clamp(1, Self::MAX_PAGE_SIZE)
    }

    /// How many rows come before this page.
    pub fn offset(&self) -> u64 {
        u64::from(self.page() - 1) * u64::from(self.size())
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self::new(1, 50)
    }
}

/// One page of a list, with what a front-end needs to draw the pager.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page<T> {
    pub items: Vec<T>,
    pub page: u32,
    pub page_size: u32,
    pub total_items: u64,
}

impl<T> Page<T> {
    pub fn total_pages(&self) -> u64 {
        self.total_items.div_ceil(u64::from(self.page_size.max(1)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_clamped_and_pages_counted() {
        let req = PageRequest::new(0, 0);
        assert_eq!((req.page(), req.size(), req.offset()), (1, 1, 0));
        let req = PageRequest::new(3, 5000);
        assert_eq!(req.size(), PageRequest::MAX_PAGE_SIZE);
        assert_eq!(req.offset(), 2000);
        let page = Page::<u8> {
            items: vec![],
            page: 1,
            page_size: 10,
            total_items: 21,
        };
        assert_eq!(page.total_pages(), 3);
    }
}
