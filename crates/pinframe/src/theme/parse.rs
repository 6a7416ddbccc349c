//! Splitting the upload into rules and declarations: `cssparser`'s style sheet and rule body
//! parsers, driven by the parsers below. Each piece goes to `sanitize` to be kept or dropped, and
//! what is kept to `serialize` to be written out.

use cssparser::{
    AtRuleParser, CowRcStr, DeclarationParser, Parser, ParserState, QualifiedRuleParser, RuleBodyItemParser,
    RuleBodyParser, StyleSheetParser,
};
use pinframe_core::IssuerId;

use super::sanitize::{self, refuse, AtRule, Context, Failure, Reason, Report};
use super::serialize;

/// The rules of a style sheet (`top`) or of an `@media` block, one per line. What is dropped or
/// refuses the theme is added to `report`, in the order of the upload.
pub(super) fn rules<'i>(input: &mut Parser<'i>, issuer: &IssuerId, report: &mut Report, top: bool) -> String {
    let mut kept = Vec::new();
    let mut parser = RuleParser { issuer, report: Report::default(), top };
    let results: Vec<_> = StyleSheetParser::new(input, &mut parser).collect();
    for result in results {
        match result {
            Ok(rule) => kept.push(rule),
            Err((error, _, location)) => parser.report.add(&error, location),
        }
    }
    report.append(parser.report);
    serialize::rule_list(&kept)
}

struct RuleParser<'a> {
    issuer: &'a IssuerId,
    report: Report,
    /// At the top of the sheet (where `@media` and `@font-face` may be), not inside `@media`.
    top: bool,
}

enum AtPrelude {
    FontFace,
    Media(String),
}

impl<'i> AtRuleParser<'i> for RuleParser<'_> {
    type Prelude = AtPrelude;
    type AtRule = String;
    type Error = Reason;

    fn parse_prelude(&mut self, name: CowRcStr<'i>, input: &mut Parser<'i>) -> Result<AtPrelude, Failure> {
        match sanitize::at_rule(&name, self.top)? {
            AtRule::FontFace => {
                input.expect_exhausted()?;
                Ok(AtPrelude::FontFace)
            }
            AtRule::Media => Ok(AtPrelude::Media(sanitize::media_query_list(input)?)),
        }
    }

    fn parse_block(
        &mut self,
        prelude: AtPrelude,
        _start: &ParserState,
        input: &mut Parser<'i>,
    ) -> Result<String, Failure> {
        match prelude {
            AtPrelude::FontFace => {
                let body = declarations(input, Context::FontFace, self.issuer, &mut self.report);
                Ok(serialize::font_face(&body))
            }
            AtPrelude::Media(query) => {
                let inner = rules(input, self.issuer, &mut self.report, false);
                Ok(serialize::media_rule(&query, &inner))
            }
        }
    }
}

impl<'i> QualifiedRuleParser<'i> for RuleParser<'_> {
    type Prelude = String;
    type QualifiedRule = String;
    type Error = Reason;

    fn parse_prelude(&mut self, input: &mut Parser<'i>) -> Result<String, Failure> {
        sanitize::selector_list(input)
    }

    fn parse_block(
        &mut self,
        selectors: String,
        _start: &ParserState,
        input: &mut Parser<'i>,
    ) -> Result<String, Failure> {
        let body = declarations(input, Context::Style, self.issuer, &mut self.report);
        Ok(serialize::style_rule(&selectors, &body))
    }
}

struct DeclarationsParser<'a> {
    context: Context,
    issuer: &'a IssuerId,
}

impl<'i> DeclarationParser<'i> for DeclarationsParser<'_> {
    type Declaration = String;
    type Error = Reason;

    fn parse_value(
        &mut self,
        name: CowRcStr<'i>,
        input: &mut Parser<'i>,
        _start: &ParserState,
    ) -> Result<String, Failure> {
        let urls = sanitize::declaration(&name, self.context, self.issuer)?;
        let value = sanitize::declaration_value(&name, input, urls)?;
        Ok(serialize::declaration(&name, &value))
    }
}

impl<'i> AtRuleParser<'i> for DeclarationsParser<'_> {
    type Prelude = ();
    type AtRule = String;
    type Error = Reason;

    fn parse_prelude(&mut self, name: CowRcStr<'i>, _input: &mut Parser<'i>) -> Result<(), Failure> {
        Err(refuse(format!("@{name} is not allowed inside a rule")))
    }
}

impl<'i> QualifiedRuleParser<'i> for DeclarationsParser<'_> {
    type Prelude = ();
    type QualifiedRule = String;
    type Error = Reason;

    fn parse_prelude(&mut self, _input: &mut Parser<'i>) -> Result<(), Failure> {
        Err(refuse("nested rules are not allowed"))
    }
}

impl<'i> RuleBodyItemParser<'i, String, Reason> for DeclarationsParser<'_> {
    fn parse_declarations(&self) -> bool {
        true
    }

    fn parse_qualified(&self) -> bool {
        false
    }
}

/// The declarations of a style rule or `@font-face` block that `context` allows.
fn declarations<'i>(input: &mut Parser<'i>, context: Context, issuer: &IssuerId, report: &mut Report) -> String {
    let mut parser = DeclarationsParser { context, issuer };
    let mut kept = Vec::new();
    for result in RuleBodyParser::new(input, &mut parser) {
        match result {
            Ok(declaration) => kept.push(declaration),
            Err((error, _, location)) => report.add(&error, location),
        }
    }
    serialize::declaration_block(&kept)
}
