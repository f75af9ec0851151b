//! JSON values into Python objects, for the raw payloads scripts still read (`issue.raw()`,
//! custom fields, the compat shim's dicts).
//!
//! Written out rather than round-tripped through Python's `json` module: a round trip would
//! serialise in Rust and parse again in Python, twice the work for the same objects.

use pyo3::IntoPyObjectExt as _;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use serde_json::Value;

/// Builds the Python object for a JSON value: dict, list, str, int, float, bool or None.
pub(crate) fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    match value {
        Value::Null => Ok(py.None().into_bound(py)),
        Value::Bool(b) => b.into_bound_py_any(py),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_bound_py_any(py)
            } else if let Some(u) = n.as_u64() {
                u.into_bound_py_any(py)
            } else {
                // serde_json numbers are finite, so as_f64 always answers here.
                n.as_f64().unwrap_or(f64::NAN).into_bound_py_any(py)
            }
        }
        Value::String(s) => s.into_bound_py_any(py),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            Ok(list.into_any())
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (key, item) in map {
                dict.set_item(key, json_to_py(py, item)?)?;
            }
            Ok(dict.into_any())
        }
    }
}

/// Any serialisable core value as a Python object, through its JSON form.
pub(crate) fn to_py<'py, T: serde::Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value).map_err(|e| {
        pyo3::exceptions::PyValueError::new_err(format!("cannot convert a value to Python: {e}"))
    })?;
    json_to_py(py, &json)
}

/// A Python object (from `json`-compatible types) as a JSON value, for fields a script passes
/// through to Jira. Anything else is a `TypeError` naming `what`.
pub(crate) fn py_to_json(value: &Bound<'_, PyAny>, what: &str) -> PyResult<Value> {
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<pyo3::types::PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if let Ok(i) = value.extract::<i64>() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = value.cast::<pyo3::types::PyFloat>() {
        return serde_json::Number::from_f64(f.value())
            .map(Value::Number)
            .ok_or_else(|| {
                pyo3::exceptions::PyValueError::new_err(format!(
                    "{what}: NaN and infinity are not JSON"
                ))
            });
    }
    if let Ok(s) = value.extract::<String>() {
        return Ok(Value::String(s));
    }
    if let Ok(dict) = value.cast::<PyDict>() {
        let mut map = serde_json::Map::new();
        for (k, v) in dict.iter() {
            let key: String = k.extract().map_err(|_| {
                pyo3::exceptions::PyTypeError::new_err(format!("{what}: dict keys must be str"))
            })?;
            let item = py_to_json(&v, what)?;
            map.insert(key, item);
        }
        return Ok(Value::Object(map));
    }
    if let Ok(list) = value.cast::<PyList>() {
        return list.iter().map(|v| py_to_json(&v, what)).collect();
    }
    if let Ok(tuple) = value.cast::<pyo3::types::PyTuple>() {
        return tuple.iter().map(|v| py_to_json(&v, what)).collect();
    }
    Err(pyo3::exceptions::PyTypeError::new_err(format!(
        "{what}: {} is not JSON-compatible (use dict, list, str, int, float, bool or None)",
        value.get_type().name()?
    )))
}
