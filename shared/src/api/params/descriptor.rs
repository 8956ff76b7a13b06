//! The parameter machinery every route goes through: the [`Param`] descriptor, the one
//! parse loop ([`parse_query`]) with the rules every route shares (unknown, repeated, empty
//! and missing parameters), and [`documented`], which lists a route's descriptors in the
//! OpenAPI document.

use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn, ParameterStyle};
use utoipa::openapi::schema::ObjectBuilder;
use utoipa::openapi::Required;

use crate::api::problem::{InvalidParameters, ParameterError};

/// One query parameter of a route whose request is built in a `D` (the route's draft): its
/// name, whether it may repeat or is required, how the OpenAPI document describes it and
/// how it parses.
pub struct Param<D: 'static> {
    /// The name, case-sensitive.
    pub name: &'static str,
    /// Whether it may be given more than once (the values add up as if comma-separated).
    pub multi: bool,
    /// Whether the route needs it.
    pub required: bool,
    /// Its description, schema and example for the OpenAPI document.
    pub doc: fn() -> ParamDoc,
    /// Parses its non-empty values (in request order) into the route's draft; each broken
    /// rule is pushed, naming the parameter.
    pub parse: fn(&[&str], &mut D, &mut Vec<ParameterError>),
}

/// How the OpenAPI document describes a parameter.
pub struct ParamDoc {
    /// What it does and its rules, in Markdown.
    pub description: String,
    /// Its JSON schema.
    pub schema: ObjectBuilder,
    /// An example that Swagger UI pre-fills (only the contract's first example request has
    /// any, so that "Try it out" sends one valid request).
    pub example: Option<serde_json::Value>,
}

/// Which parameters a request gave (with any value, empty included), for the rules that
/// span parameters.
pub struct Given(Vec<&'static str>);

impl Given {
    /// Whether the request gave `name`.
    pub fn has(&self, name: &str) -> bool {
        self.0.contains(&name)
    }
}

/// The one parse loop: parses the query parameters of a route whose parameters are
/// `params`, given as decoded (name, value) pairs in request order, into a draft, then runs
/// `finish` (the route's rules that span parameters, which builds the request). Every broken
/// rule is reported, each naming its parameter.
pub fn parse_query<D: Default, Q>(
    params: &'static [Param<D>],
    pairs: &[(String, String)],
    finish: impl FnOnce(D, &Given, &mut Vec<ParameterError>) -> Q,
) -> Result<Q, InvalidParameters> {
    let mut errors = Vec::new();
    let mut seen: Vec<(&Param<D>, Vec<&str>)> = Vec::new();
    for (name, value) in pairs {
        let Some(param) = params.iter().find(|p| p.name == name.as_str()) else {
            errors.push(unknown_parameter(params, name));
            continue;
        };
        match seen.iter_mut().find(|(p, _)| p.name == param.name) {
            Some((_, values)) if param.multi => values.push(value),
            Some(_) => {
                if !errors
                    .iter()
                    .any(|e: &ParameterError| e.parameter == param.name)
                {
                    errors.push(ParameterError::new(
                        param.name,
                        "must be given at most once",
                    ));
                }
            }
            None => seen.push((param, vec![value.as_str()])),
        }
    }
    for (param, values) in &seen {
        // An empty value is refused rather than read as "no filter", as a typo would be.
        if values.iter().any(|v| v.trim().is_empty()) {
            errors.push(ParameterError::new(
                param.name,
                "must not be empty (leave the parameter out instead)",
            ));
        }
    }
    for param in params.iter().filter(|p| p.required) {
        // A parameter already refused is not also reported missing.
        if !seen.iter().any(|(p, _)| p.name == param.name)
            && !errors.iter().any(|e| e.parameter == param.name)
        {
            errors.push(ParameterError::new(param.name, "is required"));
        }
    }
    let mut draft = D::default();
    // Parameters parse in the table's order, so that errors come out in a stable order.
    for param in params {
        let Some((_, values)) = seen.iter().find(|(p, _)| p.name == param.name) else {
            continue;
        };
        let given: Vec<&str> = values
            .iter()
            .copied()
            .filter(|v| !v.trim().is_empty())
            .collect();
        if !given.is_empty() {
            (param.parse)(&given, &mut draft, &mut errors);
        }
    }
    let given = Given(seen.iter().map(|(p, _)| p.name).collect());
    let query = finish(draft, &given, &mut errors);
    if errors.is_empty() {
        Ok(query)
    } else {
        Err(InvalidParameters(errors))
    }
}

/// The one unknown-parameter rule: the name is refused, with the route's known names and,
/// when it differs from one only by case, that one.
fn unknown_parameter<D>(params: &[Param<D>], name: &str) -> ParameterError {
    let hint = params
        .iter()
        .find(|p| p.name.eq_ignore_ascii_case(name.trim()))
        .map(|p| format!(" Did you mean {}? Names are case-sensitive.", p.name))
        .unwrap_or_default();
    let known: Vec<&str> = params.iter().map(|p| p.name).collect();
    ParameterError::new(
        name,
        format!(
            "is not a known parameter (known: {}).{hint}",
            known.join(", ")
        ),
    )
}

/// How a route's parameters are written in the OpenAPI document.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Style {
    /// Each says `style: form` (the listing's: its comma-separated lists are one value, not
    /// exploded arrays).
    Form,
    /// No `style` (form is the default for query parameters).
    Default,
}

/// The OpenAPI parameters of a route, from the same descriptors the parse loop reads.
pub fn documented<D>(params: &[Param<D>], style: Style) -> Vec<Parameter> {
    params
        .iter()
        .map(|param| {
            let doc = (param.doc)();
            let mut parameter = ParameterBuilder::new()
                .name(param.name)
                .parameter_in(ParameterIn::Query)
                .required(if param.required {
                    Required::True
                } else {
                    Required::False
                })
                .description(Some(doc.description))
                .schema(Some(doc.schema))
                .example(doc.example)
                .build();
            if style == Style::Form {
                parameter.style = Some(ParameterStyle::Form);
            }
            parameter
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::values;
    use super::*;
    use serde_json::json;

    fn pairs(query: &str) -> Vec<(String, String)> {
        query
            .split('&')
            .filter(|p| !p.is_empty())
            .map(|p| {
                let (k, v) = p.split_once('=').unwrap_or((p, ""));
                (k.to_owned(), v.to_owned())
            })
            .collect()
    }

    /// A route of two parameters: `a` repeats, `b` is required and a whole number.
    #[derive(Default, Debug, PartialEq)]
    struct Draft {
        a: Vec<String>,
        b: Option<u32>,
    }

    const PARAMS: &[Param<Draft>] = &[
        Param {
            name: "a",
            multi: true,
            required: false,
            doc: || ParamDoc {
                description: "A.".to_owned(),
                schema: values::string(),
                example: Some(json!("x")),
            },
            parse: |values, draft, _| draft.a = values.iter().map(|v| (*v).to_owned()).collect(),
        },
        Param {
            name: "b",
            multi: false,
            required: true,
            doc: || ParamDoc {
                description: "B.".to_owned(),
                schema: values::string(),
                example: None,
            },
            parse: |values, draft, errors| {
                draft.b = values.first().and_then(|v| {
                    values::parse_whole("b", v, 1, 9)
                        .map_err(|e| errors.push(e))
                        .ok()
                });
            },
        },
    ];

    fn parse(query: &str) -> Result<(Draft, bool), Vec<(String, String)>> {
        parse_query(PARAMS, &pairs(query), |draft, given, _| {
            (draft, given.has("a"))
        })
        .map_err(|e| e.0.into_iter().map(|e| (e.parameter, e.message)).collect())
    }

    #[test]
    fn repeatable_parameters_add_up_and_the_rest_are_given_once() {
        let (draft, a) = parse("a=1&b=2&a=3").unwrap();
        assert_eq!(draft.a, ["1", "3"]);
        assert_eq!(draft.b, Some(2));
        assert!(a);
        let e = parse("b=2&b=3&b=4").unwrap_err();
        assert_eq!(
            e,
            [("b".to_owned(), "must be given at most once".to_owned())]
        );
    }

    #[test]
    fn unknown_empty_and_missing_parameters_are_each_named_once_in_a_stable_order() {
        let e = parse("B=1&a=&zzz=2").unwrap_err();
        let named: Vec<&str> = e.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(named, ["B", "zzz", "a", "b"]);
        assert_eq!(
            e[0].1,
            "is not a known parameter (known: a, b). Did you mean b? Names are case-sensitive."
        );
        assert_eq!(e[1].1, "is not a known parameter (known: a, b).");
        assert_eq!(
            e[2].1,
            "must not be empty (leave the parameter out instead)"
        );
        assert_eq!(e[3].1, "is required");
        // Refused for its value, a required parameter is not also reported missing.
        let e = parse("b=").unwrap_err();
        assert_eq!(e.len(), 1, "{e:?}");
        let e = parse("b=0").unwrap_err();
        assert_eq!(e[0].0, "b");
        assert!(e[0].1.contains("from 1 to 9"), "{e:?}");
    }

    #[test]
    fn the_document_lists_the_parsed_parameters_with_their_rules() {
        let form = serde_json::to_value(documented(PARAMS, Style::Form)).unwrap();
        assert_eq!(form[0]["name"], "a");
        assert_eq!(form[0]["style"], "form");
        assert_eq!(form[0]["required"], false);
        assert_eq!(form[0]["example"], "x");
        assert_eq!(form[1]["required"], true);
        let plain = serde_json::to_value(documented(PARAMS, Style::Default)).unwrap();
        assert!(plain[0].get("style").is_none(), "{plain}");
    }
}
