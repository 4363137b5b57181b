package rse;

import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.context.support.IValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.ResultSeverityEnum;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.UnknownCodeSystemWarningValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

/**
 * HAPI FHIR's R4 instance validator, offline, for many resources per JVM start.
 *
 * <p>Input: file or directory arguments (every *.json in them), or else one JSON resource per
 * line on stdin. Output: one JSON line per resource, in input order and flushed at once (a
 * caller may keep the process and send one line at a time): {"n", "source", "resourceType",
 * "id", "errors", "warnings", "issues": [{"severity", "location", "message", "id"}]}.
 *
 * <p>What is checked without a terminology server: the JSON syntax FHIR allows (no empty
 * arrays or objects, no nulls, primitive formats), every element against the R4 base
 * StructureDefinitions (names, types, cardinalities, fixed values), the FHIRPath invariants,
 * Bundle rules (fullUrl against id, entry uniqueness), and codes of the value sets and code
 * systems R4 itself defines (FHIR's own and the terminology.hl7.org ones it ships, such as
 * v3-ActReason, restful-interaction, audit-event-type, consentscope, audit-entity-type),
 * languages, MIME types and UCUM. Codes of systems the R4 package does not carry (LOINC,
 * SNOMED CT, DICOM, the platform's urn: systems) cannot be looked up offline: they are
 * reported as warnings (unknown code system), never silently passed as errors-free checks.
 */
public final class ValidateFhir {
  private static final Gson GSON = new GsonBuilder().disableHtmlEscaping().create();

  private ValidateFhir() {}

  public static void main(String[] args) throws IOException {
    FhirValidator validator = validator(FhirContext.forR4());
    PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
    int n = 0;
    if (args.length > 0) {
      for (Path file : jsonFiles(args)) {
        String text = Files.readString(file, StandardCharsets.UTF_8);
        emit(out, result(validator, n++, file.toString(), text));
      }
      return;
    }
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    for (String line = in.readLine(); line != null; line = in.readLine()) {
      if (!line.isBlank()) {
        emit(out, result(validator, n, "stdin:" + (n + 1), line));
        n++;
      }
    }
  }

  /** The offline support chain: base definitions, in-memory terminology, snapshots. */
  @SuppressWarnings("deprecation")
  static FhirValidator validator(FhirContext context) {
    // Deprecated in HAPI 8 in favour of settings on a remote terminology service, which this
    // offline validator has not: it is still the way to grade an unknown code system.
    UnknownCodeSystemWarningValidationSupport unknownSystems =
        new UnknownCodeSystemWarningValidationSupport(context);
    // A code system the R4 package lacks is looked up nowhere: say so as a warning.
    unknownSystems.setNonExistentCodeSystemSeverity(IValidationSupport.IssueSeverity.WARNING);
    ValidationSupportChain chain =
        new ValidationSupportChain(
            new DefaultProfileValidationSupport(context),
            new CommonCodeSystemsTerminologyService(context),
            new InMemoryTerminologyServerValidationSupport(context),
            new SnapshotGeneratingValidationSupport(context),
            unknownSystems);
    FhirInstanceValidator module = new FhirInstanceValidator(chain);
    // Extensions the platform might add are checked when their definition is known; an
    // unknown one is not an error of the base resource.
    module.setAnyExtensionsAllowed(true);
    return context.newValidator().registerValidatorModule(module);
  }

  static List<Path> jsonFiles(String[] args) throws IOException {
    List<Path> files = new ArrayList<>();
    for (String arg : args) {
      Path path = Path.of(arg);
      if (Files.isDirectory(path)) {
        try (Stream<Path> walk = Files.walk(path)) {
          walk.filter(p -> p.toString().endsWith(".json")).sorted().forEach(files::add);
        }
      } else {
        files.add(path);
      }
    }
    return files;
  }

  static JsonObject result(FhirValidator validator, int n, String source, String text) {
    JsonObject result = new JsonObject();
    result.addProperty("n", n);
    result.addProperty("source", source);
    JsonArray issues = new JsonArray();
    int errors = 0;
    int warnings = 0;
    try {
      JsonObject resource = JsonParser.parseString(text).getAsJsonObject();
      result.addProperty("resourceType", text(resource, "resourceType"));
      result.addProperty("id", text(resource, "id"));
      ValidationResult outcome = validator.validateWithResult(text);
      for (SingleValidationMessage message : outcome.getMessages()) {
        issues.add(issue(message));
        if (isError(message.getSeverity())) {
          errors++;
        } else if (message.getSeverity() == ResultSeverityEnum.WARNING) {
          warnings++;
        }
      }
    } catch (RuntimeException e) {
      // Not JSON, or not a resource the parser can start on: one error, and the next line.
      JsonObject issue = new JsonObject();
      issue.addProperty("severity", "fatal");
      issue.addProperty("location", "");
      issue.addProperty("message", String.valueOf(e.getMessage()));
      issues.add(issue);
      errors++;
    }
    result.addProperty("errors", errors);
    result.addProperty("warnings", warnings);
    result.add("issues", issues);
    return result;
  }

  static boolean isError(ResultSeverityEnum severity) {
    return severity == ResultSeverityEnum.ERROR || severity == ResultSeverityEnum.FATAL;
  }

  static JsonObject issue(SingleValidationMessage message) {
    JsonObject issue = new JsonObject();
    issue.addProperty("severity", message.getSeverity().getCode());
    issue.addProperty("location", message.getLocationString());
    issue.addProperty("message", message.getMessage());
    issue.addProperty("id", message.getMessageId());
    return issue;
  }

  static String text(JsonObject object, String name) {
    return object.has(name) && object.get(name).isJsonPrimitive()
        ? object.get(name).getAsString()
        : null;
  }

  static void emit(PrintStream out, JsonObject result) {
    out.println(GSON.toJson(result));
    out.flush();
  }
}
