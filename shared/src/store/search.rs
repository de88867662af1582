//! A `WHERE` clause built from optional filters, with its parameters numbered as they are
//! added: how the audit tables are searched.

use tokio_postgres::types::ToSql;

#[derive(Default)]
pub(crate) struct Filter {
    clauses: Vec<String>,
    params: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl Filter {
    /// Adds `clause`, its `?` standing for `param`.
    pub fn add(&mut self, clause: &str, param: impl ToSql + Sync + Send + 'static) {
        self.params.push(Box::new(param));
        self.clauses
            .push(clause.replace('?', &format!("${}", self.params.len())));
    }

    /// `WHERE …`, or nothing without filters.
    pub fn sql(&self) -> String {
        if self.clauses.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.clauses.join(" AND "))
        }
    }

    /// The filter's parameters followed by `extra`.
    pub fn params<'a>(&'a self, extra: &[&'a (dyn ToSql + Sync)]) -> Vec<&'a (dyn ToSql + Sync)> {
        self.params
            .iter()
            .map(|p| p.as_ref() as &(dyn ToSql + Sync))
            .chain(extra.iter().copied())
            .collect()
    }

    /// The placeholder of the `n`th parameter after the filter's own.
    pub fn next(&self, n: usize) -> String {
        format!("${}", self.params.len() + n)
    }
}

#[cfg(test)]
mod tests {
    use super::Filter;

    #[test]
    fn placeholders_number_on_from_the_filters_own() {
        let mut filter = Filter::default();
        assert_eq!(filter.sql(), "");
        filter.add("hostname = ?", "r1".to_owned());
        filter.add("record_id = ?", 7i32);
        assert_eq!(filter.sql(), "WHERE hostname = $1 AND record_id = $2");
        assert_eq!(filter.next(1), "$3");
        assert_eq!(filter.params(&[&5i64]).len(), 3);
    }
}
