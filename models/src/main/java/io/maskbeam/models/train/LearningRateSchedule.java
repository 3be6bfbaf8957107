package io.maskbeam.models.train;

import java.io.Serializable;
import java.util.Locale;

/**
 * Learning rate per step: {@code poly} (DeepLab's (1 - t)^0.9), {@code step} (x {@code stepFactor} every
 * {@code stepEvery} steps), {@code cosine}, or {@code constant}; with linear warm-up over the first
 * {@code warmupSteps}.
 */
public record LearningRateSchedule(Kind kind, float base, long totalSteps, long warmupSteps, long stepEvery,
    float stepFactor) implements Serializable {

  public enum Kind {
    POLY, STEP, COSINE, CONSTANT;

    public static Kind parse(String s) {
      try {
        return valueOf(s.trim().toUpperCase(Locale.ROOT));
      } catch (IllegalArgumentException e) {
        throw new IllegalArgumentException("--lrScheduler must be poly, step, cosine or constant, got '" + s + "'");
      }
    }
  }

  public LearningRateSchedule {
    if (base <= 0) {
      throw new IllegalArgumentException("learning rate must be positive, got " + base);
    }
    if (totalSteps < 1) {
      throw new IllegalArgumentException("total steps must be positive");
    }
  }

  public float at(long step) {
    if (warmupSteps > 0 && step < warmupSteps) {
      return base * (step + 1) / warmupSteps;
    }
    double t = Math.min(1.0, (double) (step - warmupSteps) / Math.max(1, totalSteps - warmupSteps));
    return switch (kind) {
      case POLY -> (float) (base * Math.pow(1 - t, 0.9));
      case STEP -> (float) (base * Math.pow(stepFactor, (step - warmupSteps) / Math.max(1, stepEvery)));
      case COSINE -> (float) (base * 0.5 * (1 + Math.cos(Math.PI * t)));
      case CONSTANT -> base;
    };
  }
}
